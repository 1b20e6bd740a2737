import { useState, type FormEvent } from 'react';
import { api, ApiError, type Session } from '../api';
import { LogoIcon } from '../components/Icons';

/** Sign-in: a button to the OIDC provider, or a form for the admin token when no provider is configured. */
export function SignIn({ session, onSignedIn }: { session: Session; onSignedIn: (session: Session) => void }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const returnTo = window.location.pathname + window.location.search;
  const failure = session.signin_error;

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      onSignedIn(await api.signInWithToken(token.trim()));
    } catch (e) {
      setError(e instanceof ApiError ? e.message : String(e));
      setBusy(false);
    }
  };

  return (
    <main id="main" className="signin" tabIndex={-1}>
      <div className="card signin-card">
        <div className="signin-brand">
          <LogoIcon size={40} />
          <h1>Sign in to PicoTunnel</h1>
        </div>
        {failure && <p className="form-error" role="alert">{failure}</p>}
        {session.method === 'oidc' ? (
          <>
            <p className="muted">Use your organisation’s account to manage tunnels on this server.</p>
            <a className="btn btn-primary btn-block" href={`/auth/login?return_to=${encodeURIComponent(returnTo)}`}>
              Continue with single sign-on
            </a>
          </>
        ) : (
          <form onSubmit={submit} noValidate>
            <div className="field">
              <label className="field-label" htmlFor="admin-token">Admin token</label>
              <input
                id="admin-token"
                className="input mono"
                type="password"
                autoComplete="current-password"
                value={token}
                onChange={(e) => setToken(e.target.value)}
                aria-invalid={error ? true : undefined}
                aria-describedby={error ? 'admin-token-error' : 'admin-token-hint'}
                required
              />
              <p className="hint" id="admin-token-hint">
                Set by PICOTUNNEL_ADMIN_TOKEN, or generated at first start and stored in the data directory as
                admin-token.
              </p>
              {error && <p className="field-error" id="admin-token-error" role="alert">{error}</p>}
            </div>
            <button type="submit" className="btn btn-primary btn-block" disabled={busy || token.trim() === ''}>
              {busy ? 'Signing in…' : 'Sign in'}
            </button>
          </form>
        )}
      </div>
    </main>
  );
}
