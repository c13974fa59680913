import type { Store } from '../../store/store.js';
import { AuthStore } from '../../store/auth-store.js';
import { generatePassword, hashPassword } from './passwords.js';

export const INITIAL_ADMIN = 'admin';

/**
 * Makes sure someone can sign in: when no admin exists, creates user `admin` with a generated
 * password, logs it once, and returns it. Returns undefined when an admin exists already.
 */
export async function ensureAdmin(store: Store, log: (line: string) => void = () => {}, now = Date.now()): Promise<string | undefined> {
  const auth = new AuthStore(store);
  if ((await auth.countUsers('admin')) > 0) return undefined;
  const password = generatePassword();
  const password_hash = await hashPassword(password);
  const created = await auth.createUser({ username: INITIAL_ADMIN, password_hash, role: 'admin', created_at: now });
  if (!created) {
    // Another process (a second api-server replica) made it meanwhile: its password stands.
    const existing = await auth.getUser(INITIAL_ADMIN);
    if (existing?.role === 'admin') return undefined;
    // A non-admin user is called "admin": promote it with the new password.
    await auth.updateUser(INITIAL_ADMIN, { password_hash, role: 'admin' });
    await auth.deleteSessionsOf(INITIAL_ADMIN);
  }
  log(`created API user '${INITIAL_ADMIN}' with password ${password} (shown once; change it with PATCH /api/v1/users/${INITIAL_ADMIN})`);
  return password;
}
