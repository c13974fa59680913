import { afterEach, describe, expect, it } from 'vitest';
import { ACCESS, assertAuthBinding, ensureAdmin, ROLES } from '../../src/api/index.js';
import { hashPassword, verifyPassword } from '../../src/api/auth/passwords.js';
import { routeKey } from '../../src/api/route.js';
import { Health, Session, TokenList, UserList } from '../../src/api/schemas.js';
import { AuthStore } from '../../src/store/auth-store.js';
import { tempStore } from '../support/harness.js';
import { apiHarness, type ApiHarness, registerTestDags, T0, type Who } from './support.js';

let h: ApiHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** Values for path parameters that name nothing, so no request in the matrix changes anything. */
const SAMPLE: Record<string, string> = {
  dag_id: 'ghost',
  run_id: 'ghost',
  task_id: 'ghost',
  map_index: '-1',
  try_number: '1',
  name: 'ghost',
  key: 'ghost',
  conn_id: 'ghost',
  username: 'ghost',
  token_id: '0'.repeat(64),
};

describe('authorization of every endpoint', () => {
  it('answers 401 without credentials, 403 below the minimum role, and lets the rest through', async () => {
    h = await apiHarness();
    const who: Who[] = ['anonymous', ...ROLES];
    let checked = 0;
    for (const r of h.server.routes) {
      const min = ACCESS[routeKey(r)];
      const url = `/api/v1${r.path.replaceAll(/\{([a-z_]+)\}/g, (_m, p: string) => SAMPLE[p])}`;
      for (const as of who) {
        const res = await h.request(r.method.toUpperCase(), url, { as, body: r.body ? {} : undefined });
        const label = `${as} ${routeKey(r)} → ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`;
        if (min === 'public') expect([401, 403], label).not.toContain(res.status);
        else if (as === 'anonymous') {
          expect(res.status, label).toBe(401);
          expect(res.body.error.code, label).toBe('UNAUTHENTICATED');
        } else if (ROLES.indexOf(as) < ROLES.indexOf(min)) {
          expect(res.status, label).toBe(403);
          expect(res.body.error.code, label).toBe('FORBIDDEN');
        } else expect([401, 403], label).not.toContain(res.status);
        checked++;
      }
    }
    expect(checked).toBe(h.server.routes.length * 4);
  });

  it('has exactly one rule per route', async () => {
    h = await apiHarness();
    const routeKeys = h.server.routes.map(routeKey).sort();
    expect(new Set(routeKeys).size).toBe(routeKeys.length);
    expect(Object.keys(ACCESS).sort()).toEqual(routeKeys);
  });

  it('gives admin-only rights to user, token, pool, variable and connection changes', () => {
    for (const [key, min] of Object.entries(ACCESS)) {
      if (/^(POST|PATCH|PUT|DELETE) \/(users|tokens|pools|variables|connections)/.test(key) || /^GET \/(users|tokens)/.test(key)) expect(min, key).toBe('admin');
      if (/^(POST|PATCH|DELETE) \/dags/.test(key)) expect(min, key).toBe('op');
      if (/^GET \/(dags|runs|importErrors|pools)/.test(key)) expect(min, key).toBe('viewer');
    }
  });
});

describe('bearer tokens', () => {
  it('refuses an unknown token and a malformed header with 401', async () => {
    h = await apiHarness();
    const unknown = await h.server.app.request('http://127.0.0.1/api/v1/dags', { headers: { authorization: 'Bearer ty_nope' } });
    expect(unknown.status).toBe(401);
    expect((await unknown.json()).error.code).toBe('INVALID_TOKEN');
    const basic = await h.server.app.request('http://127.0.0.1/api/v1/dags', { headers: { authorization: 'Basic YTpi' } });
    expect(basic.status).toBe(401);
  });

  it('records when a token was last used, at most once a minute', async () => {
    h = await apiHarness();
    const auth = new AuthStore(h.store);
    const lastUsed = async () => (await auth.listTokens('viewer'))[0].last_used_at;
    await h.request('GET', '/api/v1/dags', { as: 'viewer' });
    await new Promise((r) => setTimeout(r, 50));
    expect(await lastUsed()).toBe(T0);
    h.now = T0 + 30_000;
    await h.request('GET', '/api/v1/dags', { as: 'viewer' });
    await new Promise((r) => setTimeout(r, 50));
    expect(await lastUsed()).toBe(T0);
    h.now = T0 + 61_000;
    await h.request('GET', '/api/v1/dags', { as: 'viewer' });
    await new Promise((r) => setTimeout(r, 50));
    expect(await lastUsed()).toBe(T0 + 61_000);
  });
});

describe('sessions', () => {
  async function login(username: string, password: string) {
    const res = await h!.server.app.request('http://127.0.0.1/api/v1/auth/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username, password }),
    });
    const body = await res.json();
    const setCookie = res.headers.get('set-cookie') ?? '';
    return { status: res.status, body, setCookie, cookie: setCookie.split(';')[0] };
  }
  const call = (method: string, url: string, headers: Record<string, string>, body?: unknown) =>
    h!.server.app.request(`http://127.0.0.1${url}`, { method, headers: { ...(body ? { 'content-type': 'application/json' } : {}), ...headers }, body: body ? JSON.stringify(body) : undefined });

  it('signs in with a password: an httpOnly SameSite=Strict cookie and a CSRF token', async () => {
    h = await apiHarness();
    const r = await login('op', h.passwords.op);
    expect(r.status).toBe(200);
    Session.parse(r.body);
    expect(r.body).toMatchObject({ username: 'op', role: 'op', via: 'session' });
    expect(r.body.csrf_token).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    expect(r.setCookie).toMatch(/^trainyard_session=[A-Za-z0-9_-]+;/);
    expect(r.setCookie).toContain('HttpOnly');
    expect(r.setCookie).toContain('SameSite=Strict');
    expect(r.setCookie).toContain('Path=/');
    expect(r.setCookie).not.toContain('Secure');
    const me = await call('GET', '/api/v1/auth/me', { cookie: r.cookie });
    expect(await me.json()).toMatchObject({ username: 'op', via: 'session', csrf_token: r.body.csrf_token });
    // The cookie's value is stored only as a hash.
    const sessions = await h.store.db.selectFrom('api_session' as never).selectAll().execute();
    expect(JSON.stringify(sessions)).not.toContain(r.cookie.split('=')[1]);
  });

  it('refuses a wrong password and an unknown user alike', async () => {
    h = await apiHarness();
    for (const [u, p] of [
      ['op', 'wrong-password'],
      ['nobody', 'whatever-password'],
    ]) {
      const r = await login(u, p);
      expect(r.status).toBe(401);
      expect(r.body.error).toEqual({ code: 'INVALID_CREDENTIALS', message: 'wrong username or password' });
      expect(r.setCookie).toBe('');
    }
  });

  it('refuses sign-ins for a while after ten failures for one username', async () => {
    h = await apiHarness();
    for (let i = 0; i < 10; i++) expect((await login('op', `wrong-${i}`)).status).toBe(401);
    const blocked = await h.server.app.request('http://127.0.0.1/api/v1/auth/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'op', password: h.passwords.op }),
    });
    expect(blocked.status).toBe(429);
    expect((await blocked.json()).error.code).toBe('TOO_MANY_ATTEMPTS');
    expect(Number(blocked.headers.get('retry-after'))).toBe(15 * 60);
    // Other users are not affected; the window ends.
    expect((await login('viewer', h.passwords.viewer)).status).toBe(200);
    h.now = T0 + 15 * 60_000;
    expect((await login('op', h.passwords.op)).status).toBe(200);
  });

  it('needs the CSRF token on every state-changing request made with the cookie', async () => {
    h = await apiHarness();
    await registerTestDags(h.store);
    const { cookie, body } = await login('op', h.passwords.op);
    const none = await call('POST', '/api/v1/dags/etl/runs', { cookie }, {});
    expect(none.status).toBe(403);
    expect((await none.json()).error.code).toBe('CSRF_FAILED');
    const wrong = await call('POST', '/api/v1/dags/etl/runs', { cookie, 'x-csrf-token': 'guess' }, {});
    expect(wrong.status).toBe(403);
    for (const [method, url, b] of [
      ['PATCH', '/api/v1/dags/etl', { is_paused: true }],
      ['POST', '/api/v1/auth/logout', undefined],
    ] as const) {
      expect((await call(method, url, { cookie }, b)).status, `${method} ${url}`).toBe(403);
    }
    expect(await h.store.listRuns()).toEqual([]);
    // Reads need no token; a change with the token goes through.
    expect((await call('GET', '/api/v1/dags', { cookie })).status).toBe(200);
    const ok = await call('POST', '/api/v1/dags/etl/runs', { cookie, 'x-csrf-token': body.csrf_token }, { run_id: 'from-ui' });
    expect(ok.status).toBe(201);
    // A viewer's session is still a viewer.
    const viewer = await login('viewer', h.passwords.viewer);
    const denied = await call('POST', '/api/v1/dags/etl/runs', { cookie: viewer.cookie, 'x-csrf-token': viewer.body.csrf_token }, {});
    expect(denied.status).toBe(403);
    expect((await denied.json()).error.code).toBe('FORBIDDEN');
  });

  it('ends a session on logout and when it expires', async () => {
    h = await apiHarness();
    const a = await login('viewer', h.passwords.viewer);
    const out = await call('POST', '/api/v1/auth/logout', { cookie: a.cookie, 'x-csrf-token': a.body.csrf_token });
    expect(out.status).toBe(200);
    expect(out.headers.get('set-cookie')).toMatch(/trainyard_session=;.*Max-Age=0/);
    const after = await call('GET', '/api/v1/dags', { cookie: a.cookie });
    expect(after.status).toBe(401);
    expect((await after.json()).error.code).toBe('SESSION_EXPIRED');
    const b = await login('viewer', h.passwords.viewer);
    h.now = T0 + 12 * 3600_000 + 1;
    expect((await call('GET', '/api/v1/dags', { cookie: b.cookie })).status).toBe(401);
  });
});

describe('users and tokens', () => {
  it('lets an admin create users, who can then sign in', async () => {
    h = await apiHarness();
    const c = await h.request('POST', '/api/v1/users', { body: { username: 'ana', password: 'a long enough password', role: 'op' } });
    expect(c.status).toBe(201);
    expect(c.body).toEqual({ username: 'ana', role: 'op', created_at: new Date(T0).toISOString() });
    expect((await h.request('POST', '/api/v1/users', { body: { username: 'ana', password: 'a long enough password', role: 'op' } })).status).toBe(409);
    const short = await h.request('POST', '/api/v1/users', { body: { username: 'bo b', password: 'short', role: 'boss' } });
    expect(short.body.error.details.map((d: { field: string }) => d.field).sort()).toEqual(['body.password', 'body.role', 'body.username']);
    const list = await h.request('GET', '/api/v1/users');
    UserList.parse(list.body);
    expect(list.body.items.map((u: { username: string }) => u.username)).toEqual(['admin', 'ana', 'op', 'viewer']);
    expect(JSON.stringify(list.body)).not.toContain('scrypt');
    const login = await h.server.app.request('http://127.0.0.1/api/v1/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'ana', password: 'a long enough password' }) });
    expect(login.status).toBe(200);
  });

  it('changes roles and passwords, and keeps at least one admin', async () => {
    h = await apiHarness();
    const p = await h.request('PATCH', '/api/v1/users/viewer', { body: { role: 'op' } });
    expect(p.body.role).toBe('op');
    const demote = await h.request('PATCH', '/api/v1/users/admin', { body: { role: 'viewer' } });
    expect(demote.status).toBe(409);
    expect(demote.body.error.code).toBe('LAST_ADMIN');
    expect((await h.request('DELETE', '/api/v1/users/admin')).status).toBe(409);
    await h.request('PATCH', '/api/v1/users/op', { body: { role: 'admin' } });
    expect((await h.request('DELETE', '/api/v1/users/admin', { as: 'op' })).status).toBe(204);
    expect((await h.request('GET', '/api/v1/users', { as: 'admin' })).status).toBe(401);
    expect((await h.request('DELETE', '/api/v1/users/ghost', { as: 'op' })).status).toBe(404);
    const pw = await h.request('PATCH', '/api/v1/users/viewer', { as: 'op', body: { password: 'a brand new password' } });
    expect(pw.status).toBe(200);
    const row = await new AuthStore(h.store).getUser('viewer');
    expect(await verifyPassword('a brand new password', row!.password_hash)).toBe(true);
  });

  it('creates a token shown once, stored hashed, usable as a bearer token, and revocable', async () => {
    h = await apiHarness();
    const c = await h.request('POST', '/api/v1/tokens', { body: { name: 'ci', username: 'viewer' } });
    expect(c.status).toBe(201);
    expect(c.body).toMatchObject({ username: 'viewer', name: 'ci', last_used_at: null });
    expect(c.body.token).toMatch(/^ty_/);
    expect(c.body.id).toMatch(/^[0-9a-f]{64}$/);
    const use = await h.server.app.request('http://127.0.0.1/api/v1/dags', { headers: { authorization: `Bearer ${c.body.token}` } });
    expect(use.status).toBe(200);
    const list = await h.request('GET', '/api/v1/tokens?username=viewer');
    TokenList.parse(list.body);
    expect(list.body.items.map((t: { name: string }) => t.name).sort()).toEqual(['ci', 'viewer test token']);
    expect(JSON.stringify(list.body)).not.toContain(c.body.token);
    const own = await h.request('POST', '/api/v1/tokens', { body: { name: 'mine' } });
    expect(own.body.username).toBe('admin');
    expect((await h.request('POST', '/api/v1/tokens', { body: { name: 'x', username: 'ghost' } })).status).toBe(404);
    expect((await h.request('DELETE', `/api/v1/tokens/${c.body.id}`)).status).toBe(204);
    const revoked = await h.server.app.request('http://127.0.0.1/api/v1/dags', { headers: { authorization: `Bearer ${c.body.token}` } });
    expect(revoked.status).toBe(401);
    expect((await h.request('DELETE', `/api/v1/tokens/${c.body.id}`)).status).toBe(404);
    expect((await h.request('DELETE', '/api/v1/tokens/not-an-id')).status).toBe(400);
  });
});

describe('ensureAdmin', () => {
  it('creates an admin with a generated password once', async () => {
    const t = await tempStore();
    try {
      const lines: string[] = [];
      const password = await ensureAdmin(t.store, (l) => lines.push(l), T0);
      expect(password).toMatch(/^[A-Za-z0-9]{24}$/);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(password);
      const user = await new AuthStore(t.store).getUser('admin');
      expect(user?.role).toBe('admin');
      expect(await verifyPassword(password!, user!.password_hash)).toBe(true);
      expect(await ensureAdmin(t.store, (l) => lines.push(l))).toBeUndefined();
      expect(lines).toHaveLength(1);
    } finally {
      await t.close();
    }
  });
});

describe('ensureAdmin with a user called admin', () => {
  it('promotes a non-admin "admin" and gives it the new password; leaves a real admin alone', async () => {
    const t = await tempStore();
    try {
      const auth = new AuthStore(t.store);
      await auth.createUser({ username: 'admin', password_hash: await hashPassword('old password!'), role: 'viewer', created_at: T0 });
      const password = await ensureAdmin(t.store);
      const user = await auth.getUser('admin');
      expect(user?.role).toBe('admin');
      expect(await verifyPassword(password!, user!.password_hash)).toBe(true);
      expect(await ensureAdmin(t.store)).toBeUndefined();
    } finally {
      await t.close();
    }
  });
});

describe('passwords', () => {
  it('are salted scrypt hashes compared in constant time', async () => {
    const a = await hashPassword('same password');
    const b = await hashPassword('same password');
    expect(a).not.toBe(b);
    expect(a).toMatch(/^scrypt\$16384\$8\$1\$/);
    expect(await verifyPassword('same password', a)).toBe(true);
    expect(await verifyPassword('other password', a)).toBe(false);
    expect(await verifyPassword('same password', 'garbage')).toBe(false);
  });
});

describe('no-auth mode', () => {
  it('treats every caller as an admin and says so in /health', async () => {
    h = await apiHarness({ auth: 'none' });
    const health = await h.request('GET', '/api/v1/health', { as: 'anonymous' });
    expect(Health.parse(health.body).auth).toBe('none');
    expect((await h.request('POST', '/api/v1/pools', { as: 'anonymous', body: { name: 'p', slots: 1 } })).status).toBe(201);
  });

  it('answers only requests addressed to a loopback host (no DNS rebinding)', async () => {
    h = await apiHarness({ auth: 'none' });
    const evil = await h.server.app.request('http://evil.example:8080/api/v1/dags');
    expect(evil.status).toBe(403);
    expect((await evil.json()).error.code).toBe('HOST_NOT_ALLOWED');
    expect((await h.server.app.request('http://localhost:8080/api/v1/dags')).status).toBe(200);
    expect((await h.server.app.request('http://[::1]:8080/api/v1/dags')).status).toBe(200);
  });

  it('refuses to listen anywhere but loopback', async () => {
    h = await apiHarness({ auth: 'none' });
    await expect(h.server.listen(0, '0.0.0.0')).rejects.toThrow(/refusing to serve the API without authentication on 0\.0\.0\.0/);
    expect(() => assertAuthBinding('none', '::')).toThrow(/AUTH|authentication/);
    expect(() => assertAuthBinding('none', '127.0.0.1')).not.toThrow();
    expect(() => assertAuthBinding('none', '::1')).not.toThrow();
    expect(() => assertAuthBinding('password', '0.0.0.0')).not.toThrow();
  });
});

describe('service endpoints', () => {
  it('serves health and version without credentials', async () => {
    h = await apiHarness();
    const r = await h.request('GET', '/api/v1/health', { as: 'anonymous' });
    expect(r.status).toBe(200);
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    expect(r.headers.get('cache-control')).toBe('no-store');
    expect(Health.parse(r.body)).toMatchObject({ status: 'ok', db: { ok: true, dialect: 'sqlite' }, scheduler: { in_process: true, heartbeat_at: null }, auth: 'password' });
    await h.store.db.insertInto('scheduler').values({ id: 's1', host: 'h', pid: 1, started_at: T0, heartbeat_at: T0 + 5 }).execute();
    const beat = await h.request('GET', '/api/v1/health', { as: 'anonymous' });
    expect(beat.body.scheduler.heartbeat_at).toBe(new Date(T0 + 5).toISOString());
    const v = await h.request('GET', '/api/v1/version', { as: 'anonymous' });
    expect(v.body).toEqual({ version: expect.stringMatching(/^\d+\.\d+\.\d+/), api: 'v1' });
  });

  it('hands paths outside the API to the web UI, and keeps unknown API paths for itself', async () => {
    h = await apiHarness({
      web: async (c, next) => {
        if (c.req.path.startsWith('/api/')) return next();
        return c.html('<!doctype html><title>Trainyard</title>');
      },
    });
    const page = await h.server.app.request('http://127.0.0.1/runs/train/run1');
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<title>Trainyard</title>');
    expect((await h.request('GET', '/api/v1/dags', { as: 'viewer' })).status).toBe(200);
    const unknown = await h.request('GET', '/api/v1/nothing-here');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('ROUTE_NOT_FOUND');
  });

  it('answers unknown paths with the error format', async () => {
    h = await apiHarness();
    const r = await h.request('GET', '/api/v1/nothing-here');
    expect(r.status).toBe(404);
    expect(r.body.error.code).toBe('ROUTE_NOT_FOUND');
  });
});
