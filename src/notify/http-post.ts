import { redactText, redactUrl } from './redact.js';
import { NotifyError } from './types.js';

/** POSTs JSON; throws NotifyError (URL redacted) on a network error or a non-2xx answer. */
export async function postJson(url: string, body: unknown, headers: Record<string, string>, signal: AbortSignal, what: string): Promise<void> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8', 'user-agent': 'trainyard-notifier', ...headers },
      body: JSON.stringify(body),
      signal,
      redirect: 'error',
    });
  } catch (e) {
    const cause = (e as { cause?: { code?: string } }).cause;
    const why = signal.aborted ? 'the request was aborted (timeout)' : (cause?.code ?? redactText((e as Error).message));
    throw new NotifyError(`${what} POST to ${redactUrl(url)} failed: ${why}`);
  }
  if (res.status >= 200 && res.status < 300) {
    await res.body?.cancel().catch(() => undefined);
    return;
  }
  let text = '';
  try {
    text = (await res.text()).slice(0, 200);
  } catch {
    // The status says enough.
  }
  throw new NotifyError(`${what} POST to ${redactUrl(url)} answered ${res.status}${text ? `: ${redactText(text.trim())}` : ''}`, res.status);
}

export function checkUrl(url: unknown, what: string, field: string): string {
  let u: URL;
  try {
    u = new URL(String(url));
  } catch {
    throw new TypeError(`${what}: ${field} is not an absolute URL (got ${url === undefined ? 'nothing' : JSON.stringify(redactUrl(String(url)))}).`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new TypeError(`${what}: ${field} must be http:// or https://, not ${u.protocol}//.`);
  return u.toString();
}

/** Secret-looking parts of a URL (password, query values, a webhook path) for masking in logs. */
export function urlSecrets(url: string): string[] {
  const out: string[] = [];
  try {
    const u = new URL(url);
    if (u.password) out.push(decodeURIComponent(u.password));
    for (const [, v] of u.searchParams) if (v.length >= 8) out.push(v);
    const last = u.pathname.split('/').filter(Boolean).at(-1);
    if (last && last.length >= 16) out.push(last);
  } catch {
    // Not a URL: nothing to extract.
  }
  return out;
}
