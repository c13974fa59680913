/** Roles of API users, weakest first: a role may do everything the ones before it may. */
export const ROLES = ['viewer', 'op', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export function isRole(v: string): v is Role {
  return (ROLES as readonly string[]).includes(v);
}

/** True when `role` is at least `minimum`. */
export function roleAtLeast(role: Role, minimum: Role): boolean {
  return ROLES.indexOf(role) >= ROLES.indexOf(minimum);
}

/** Who made a request. */
export interface Principal {
  readonly username: string;
  readonly role: Role;
  /** How they proved it: a bearer token, a session cookie, or nothing (no-auth mode). */
  readonly via: 'token' | 'session' | 'none';
  /** The session's CSRF token, for cookie sessions. */
  readonly csrfToken?: string;
  readonly sessionHash?: string;
}
