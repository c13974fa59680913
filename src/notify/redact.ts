/**
 * Keeping secrets out of logs: URLs lose their password and their secret-looking query values,
 * and Slack-style webhook paths (whose path is the secret) are cut to their first segments.
 */

const SECRET_PARAM = /^(?:.*token.*|.*secret.*|.*password.*|passwd|pwd|sig|signature|key|api[-_]?key|access[-_]?key|auth.*|x-amz-.*|code)$/i;
const MASK = '***';

/** A URL fit for a log line. Anything that does not parse as a URL is masked whole. */
export function redactUrl(url: string | URL): string {
  let u: URL;
  try {
    u = new URL(String(url));
  } catch {
    return MASK;
  }
  // user:password@ loses the password; a lone user@ is often a token, so it goes too.
  if (u.password) u.password = MASK;
  else if (u.username) u.username = MASK;
  for (const name of [...u.searchParams.keys()]) {
    if (SECRET_PARAM.test(name)) u.searchParams.set(name, MASK);
  }
  // Incoming-webhook URLs carry their secret in the path (/services/T000/B000/XXXX).
  if (/(^|\.)slack\.com$/i.test(u.hostname) || /\/services\/[^/]+\/[^/]+\/[^/]+/.test(u.pathname)) {
    const parts = u.pathname.split('/');
    u.pathname = parts.slice(0, 2).join('/') + (parts.length > 2 ? `/${MASK}` : '');
  }
  return u.toString().replace(/%2A%2A%2A/g, MASK);
}

/** Replaces every occurrence of the given secrets, and of URLs, in a message. */
export function redactText(text: string, secrets: readonly (string | undefined)[] = []): string {
  let out = text.replace(/\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>]+/gi, (m) => redactUrl(m));
  for (const s of secrets) {
    if (s && s.length >= 3) out = out.split(s).join(MASK);
  }
  return out;
}
