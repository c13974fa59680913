import crypto from 'node:crypto';

/** API tokens start with this, so they are recognisable in configs and secret scanners. */
export const TOKEN_PREFIX = 'ty_';

/** A new API token (shown once) and the hash that is stored. */
export function newToken(): { token: string; hash: string } {
  const token = `${TOKEN_PREFIX}${crypto.randomBytes(32).toString('base64url')}`;
  return { token, hash: sha256(token) };
}

/** A new session id (the cookie's value) and the hash that is stored. */
export function newSessionId(): { id: string; hash: string } {
  const id = crypto.randomBytes(32).toString('base64url');
  return { id, hash: sha256(id) };
}

export function newCsrfToken(): string {
  return crypto.randomBytes(24).toString('base64url');
}

export function sha256(text: string): string {
  return crypto.createHash('sha256').update(text).digest('hex');
}

/** Compares two strings without leaking where they differ. */
export function safeEqual(a: string, b: string): boolean {
  const ha = crypto.createHash('sha256').update(a).digest();
  const hb = crypto.createHash('sha256').update(b).digest();
  return crypto.timingSafeEqual(ha, hb) && a.length === b.length;
}
