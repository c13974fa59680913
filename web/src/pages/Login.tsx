import { type FormEvent, useState } from 'react';
import { api } from '../api/endpoints.js';
import type { Session } from '../api/types.js';
import { ErrorBox } from '../components/bits.js';
import { useTitle } from '../lib/router.js';

export function Login({ onLogin }: { onLogin: (s: Session) => void }) {
  useTitle('Sign in');
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    api.login(username, password).then(onLogin, (err: unknown) => {
      setError(err);
      setBusy(false);
    });
  };
  return (
    <main className="login">
      <form onSubmit={submit} className="card login-card" aria-labelledby="login-title">
        <h1 id="login-title">
          <span className="logo" aria-hidden="true" /> Trainyard
        </h1>
        <p className="muted">Sign in to see and run your pipelines.</p>
        <label>
          Username
          <input name="username" autoComplete="username" value={username} onChange={(e) => setUsername(e.target.value)} required autoFocus />
        </label>
        <label>
          Password
          <input name="password" type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} required />
        </label>
        <ErrorBox error={error} title="Could not sign in" />
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        <p className="muted small">
          <code>trainyard standalone</code> prints the admin's password once, when it creates the admin.
        </p>
      </form>
    </main>
  );
}
