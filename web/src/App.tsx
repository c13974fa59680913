/** The shell: session check, header, no-auth banner, and the page for the URL. */
import { lazy, Suspense, useCallback, useEffect, useState, useSyncExternalStore } from 'react';
import { ApiError, onUnauthorized, setCsrfToken } from './api/client.js';
import { api } from './api/endpoints.js';
import type { Health, Session } from './api/types.js';
import { ErrorBox, Loading } from './components/bits.js';
import { liveMode, onLiveMode } from './lib/live.js';
import { Link, match, useLocation } from './lib/router.js';
import { SessionCtx } from './lib/session.js';
import { applyTheme, initialTheme, type Theme } from './lib/theme.js';
import { DagList } from './pages/DagList.js';
import { DagPage } from './pages/DagPage.js';
import { Login } from './pages/Login.js';
import { RunPage } from './pages/RunPage.js';

// Loaded when first needed: the DAG list, a DAG's grid and a run page stay small to parse.
const TryPage = lazy(() => import('./pages/TryPage.js').then((m) => ({ default: m.TryPage })));
const ImportErrors = lazy(() => import('./pages/ImportErrors.js').then((m) => ({ default: m.ImportErrors })));
const ModelsPage = lazy(() => import('./pages/ml/ModelsPage.js').then((m) => ({ default: m.ModelsPage })));
const ModelPage = lazy(() => import('./pages/ml/ModelPage.js').then((m) => ({ default: m.ModelPage })));
const SweepPage = lazy(() => import('./pages/ml/SweepPage.js').then((m) => ({ default: m.SweepPage })));

export function App() {
  const [health, setHealth] = useState<Health>();
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const [fatal, setFatal] = useState<unknown>();

  const check = useCallback(() => {
    api.me().then(
      (s) => {
        setCsrfToken(s.csrf_token);
        setSession(s);
      },
      (e: unknown) => {
        if (e instanceof ApiError && e.status === 401) setSession(null);
        else setFatal(e);
      },
    );
  }, []);

  useEffect(() => {
    api.health().then(setHealth, () => {});
    check();
    return onUnauthorized(() => setSession(null));
  }, [check]);

  if (fatal) return <main className="page"><ErrorBox error={fatal} title="The API cannot be reached" /></main>;
  if (session === undefined) return <Loading />;
  if (session === null)
    return (
      <Login
        onLogin={(s) => {
          setCsrfToken(s.csrf_token);
          setSession(s);
        }}
      />
    );
  const logout = () => {
    api.logout().finally(() => {
      setCsrfToken(null);
      setSession(null);
    });
  };
  return (
    <SessionCtx.Provider value={{ session, health, canOperate: session.role !== 'viewer', logout }}>
      <Shell session={session} health={health} logout={logout} />
    </SessionCtx.Provider>
  );
}

function Shell({ session, health, logout }: { session: Session; health: Health | undefined; logout: () => void }) {
  const [theme, setTheme] = useState<Theme>(initialTheme);
  const mode = useSyncExternalStore(onLiveMode, liveMode);
  const noAuth = session.via === 'none' || health?.auth === 'none';
  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      {noAuth && (
        <div className="banner warn" role="status" data-testid="no-auth-banner">
          <strong>Authentication is off.</strong> Anyone who can reach this machine acts as an admin. Fine on a laptop; never expose this server.
        </div>
      )}
      <header className="top">
        <Link to="/" className="brand">
          <span className="logo" aria-hidden="true" />
          Trainyard
        </Link>
        <nav aria-label="main">
          <Link to="/">DAGs</Link>
          <Link to="/import-errors">Import errors</Link>
          <Link to="/models">Models</Link>
        </nav>
        <span className="spacer" />
        <span className={`live-indicator ${mode}`} title={mode === 'stream' ? 'live: server-sent events' : mode === 'poll' ? 'live: refreshing every few seconds' : 'connecting'}>
          <span className="dot" aria-hidden="true" /> {mode === 'stream' ? 'live' : mode === 'poll' ? 'auto-refresh' : '…'}
        </span>
        <button
          type="button"
          className="ghost"
          onClick={() => {
            const t = theme === 'dark' ? 'light' : 'dark';
            setTheme(t);
            applyTheme(t, true);
          }}
          aria-label={`switch to ${theme === 'dark' ? 'light' : 'dark'} theme`}
        >
          {theme === 'dark' ? '☀ Light' : '☾ Dark'}
        </button>
        <span className="user" title={`role: ${session.role}`}>
          {session.username} <span className="muted">({session.role})</span>
        </span>
        {session.via === 'session' && (
          <button type="button" className="ghost" onClick={logout}>
            Sign out
          </button>
        )}
      </header>
      <main id="main" className="page" tabIndex={-1}>
        <Suspense fallback={<Loading />}>
          <Routes />
        </Suspense>
      </main>
    </>
  );
}

function Routes() {
  const { path } = useLocation();
  let m: Record<string, string> | null;
  if (path === '/' || path === '/dags') return <DagList />;
  if (path === '/import-errors') return <ImportErrors />;
  if (path === '/models') return <ModelsPage />;
  if ((m = match('/models/:name', path))) return <ModelPage key={m.name} name={m.name} />;
  if ((m = match('/dags/:dagId/runs/:runId/sweeps/:taskId', path))) return <SweepPage key={`${m.dagId}/${m.runId}/${m.taskId}`} dagId={m.dagId} runId={m.runId} taskId={m.taskId} />;
  if ((m = match('/dags/:dagId', path))) return <DagPage key={m.dagId} dagId={m.dagId} />;
  if ((m = match('/dags/:dagId/runs/:runId', path))) return <RunPage key={`${m.dagId}/${m.runId}`} dagId={m.dagId} runId={m.runId} />;
  if ((m = match('/dags/:dagId/runs/:runId/tasks/:taskId/:mapIndex', path)))
    return <TryPage key={`${m.dagId}/${m.runId}/${m.taskId}/${m.mapIndex}`} dagId={m.dagId} runId={m.runId} taskId={m.taskId} mapIndex={Number(m.mapIndex)} />;
  return (
    <div className="empty">
      Nothing here. <Link to="/">Back to the DAGs</Link>
    </div>
  );
}
