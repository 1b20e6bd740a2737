import { useEffect, useState } from 'react';
import { flushSync } from 'react-dom';
import { api, ApiError, onUnauthorized, signedOutHere, type Session } from './api';
import { LogOutIcon, LogoIcon } from './components/Icons';
import { ServerUnreachableBanner } from './components/ServerUnreachableBanner';
import { Dashboard } from './pages/Dashboard';
import { SignIn } from './pages/SignIn';
import { StatusPage } from './pages/StatusPage';
import { TunnelPage } from './pages/TunnelPage';
import { Link, matchRoute, Router, useRouter } from './router';
import { POLL_INTERVAL_MS } from './usePolling';

export function App() {
  return (
    <Router>
      <Root />
    </Router>
  );
}

/** The public status page needs no sign-in and asks nothing of the admin API; every other page does. */
function Root() {
  const { path } = useRouter();
  return matchRoute(path).page === 'status' ? <StatusPage /> : <Shell />;
}

/** What the sign-in page says when an API call finds the session gone while the UI was open. */
export const SESSION_ENDED = 'Your session has ended: it expired, or it was signed out elsewhere. Sign in again to'
  + ' go on where you were.';

function Shell() {
  const [session, setSession] = useState<Session | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [reloading, setReloading] = useState(false);

  useEffect(() => {
    // Back after a sign-out can bring this page back from the back/forward cache as it left it: the dashboard, maybe a
    // token shown once, for whoever uses the browser next. It loads anew, showing nothing of the old session meanwhile.
    const restored = (event: PageTransitionEvent) => {
      if (!event.persisted || !signedOutHere()) return;
      flushSync(() => setReloading(true));
      window.location.reload();
    };
    window.addEventListener('pageshow', restored);
    return () => window.removeEventListener('pageshow', restored);
  }, []);

  useEffect(() => {
    let current = true;
    let retry: number | undefined;
    // Asked again until answered: one failure (a dropped connection, a proxy's 502 during a restart) must not leave
    // the page on an error until the user thinks of reloading it.
    const load = () => api.session().then(
      (answer) => {
        if (!current) return;
        setSession(answer);
        setError(null);
      },
      (e) => {
        if (!current) return;
        setError(e instanceof ApiError ? e.message : String(e));
        retry = window.setTimeout(load, POLL_INTERVAL_MS);
      },
    );
    void load();
    const stop = onUnauthorized(() => setSession((s) => (s?.signed_in
      ? { ...s, signed_in: false, user: null, signin_error: SESSION_ENDED }
      : s)));
    return () => {
      current = false;
      window.clearTimeout(retry);
      stop();
    };
  }, []);

  if (reloading) return <p className="muted page" role="status">Loading…</p>;
  if (error && !session) {
    return (
      <main id="main" className="signin">
        <p className="form-error" role="alert">Could not reach the server: {error} This page keeps trying.</p>
      </main>
    );
  }
  if (!session) return <p className="muted page" role="status">Loading…</p>;
  if (!session.signed_in) return <SignIn session={session} onSignedIn={setSession} />;
  return <SignedIn session={session} />;
}

function SignedIn({ session }: { session: Session }) {
  const { path } = useRouter();
  const route = matchRoute(path);
  const [signingOut, setSigningOut] = useState(false);

  useEffect(() => {
    document.title = route.page === 'dashboard' ? 'Tunnels · PicoTunnel' : 'PicoTunnel';
    document.getElementById('main')?.focus({ preventScroll: true });
  }, [path, route.page]);

  const signOut = async () => {
    setSigningOut(true);
    try {
      const answer = await api.signOut();
      window.location.assign(answer?.redirect || '/');
    } catch {
      window.location.assign('/');
    }
  };

  return (
    <>
      <a className="skip-link" href="#main">Skip to content</a>
      <header className="topbar">
        <Link to="/" className="brand" aria-label="PicoTunnel home">
          <LogoIcon />
          <span>PicoTunnel</span>
        </Link>
        <div className="topbar-right">
          {session.user && <span className="user" title={session.user}>{session.user}</span>}
          {session.method !== 'none' && (
            <button type="button" className="btn btn-sm" onClick={signOut} disabled={signingOut}>
              <LogOutIcon /> Sign out
            </button>
          )}
        </div>
      </header>
      <ServerUnreachableBanner />
      {route.page === 'dashboard' && <Dashboard />}
      {route.page === 'tunnel' && <TunnelPage key={route.id} id={route.id} tunnelServer={session.tunnel_server ?? window.location.hostname + ':8443'} />}
      {route.page === 'not-found' && (
        <main id="main" className="page" tabIndex={-1}>
          <section className="card empty-state">
            <h1>Page not found</h1>
            <p>There is nothing at {path}.</p>
            <Link to="/" className="btn btn-primary">Go to tunnels</Link>
          </section>
        </main>
      )}
    </>
  );
}
