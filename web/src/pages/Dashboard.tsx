import { useState, type FormEvent } from 'react';
import { isolated } from '../bidi';
import { api, ApiError, tunnelNameMessage, type Check, type Service, type Tunnel } from '../api';
import { HeartbeatBar } from '../components/HeartbeatBar';
import { GlobeIcon, PlugIcon, PlusIcon } from '../components/Icons';
import { Modal } from '../components/Modal';
import { keepFreshToken } from '../freshTokens';
import { PresenceText, StatusBadge } from '../components/StatusBadge';
import { Link, useRouter } from '../router';
import { usePolling } from '../usePolling';

interface TunnelRow {
  tunnel: Tunnel;
  services: Service[] | null;
  checks: Check[] | null;
}

/** Three requests however many tunnels there are: the tunnels, every service, every tunnel's newest checks. */
async function loadRows(): Promise<TunnelRow[]> {
  const [tunnels, services, checks] = await Promise.all([
    api.tunnels(),
    api.allServices().catch(() => null),
    api.checksOfEachTunnel(30).catch((e) => {
      if (e instanceof ApiError && (e.status === 0 || e.status >= 502)) throw e;
      return null;
    }),
  ]);
  const servicesOf = byTunnel(services);
  const checksOf = byTunnel(checks);
  return tunnels.map((tunnel) => ({
    tunnel,
    services: servicesOf && (servicesOf.get(tunnel.id) ?? []),
    checks: checksOf && (checksOf.get(tunnel.id) ?? []),
  }));
}

function byTunnel<T extends { tunnel_id: string }>(items: T[] | null): Map<string, T[]> | null {
  if (items === null) return null;
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const group = groups.get(item.tunnel_id);
    if (group) group.push(item);
    else groups.set(item.tunnel_id, [item]);
  }
  return groups;
}

function serviceSummary(services: Service[] | null): string {
  if (services === null) return 'services unknown';
  const http = services.filter((s) => s.type === 'http').length;
  const tcp = services.length - http;
  if (services.length === 0) return 'No services';
  const parts = [];
  if (http) parts.push(`${http} HTTP`);
  if (tcp) parts.push(`${tcp} TCP`);
  return `${services.length} ${services.length === 1 ? 'service' : 'services'} (${parts.join(', ')})`;
}

export function Dashboard() {
  const { data: rows, error, loading, reload } = usePolling(loadRows);
  const [creating, setCreating] = useState(false);
  const connected = rows?.filter((r) => r.tunnel.connected).length ?? 0;

  return (
    <main id="main" className="page" tabIndex={-1}>
      <div className="page-header">
        <div>
          <h1>Tunnels</h1>
          {rows && rows.length > 0 && (
            <p className="subtitle" aria-live="polite">
              {connected} of {rows.length} connected
            </p>
          )}
        </div>
        <div className="page-actions">
          <a href="/status" className="btn">Public status page</a>
          {rows && rows.length > 0 && (
            <button type="button" className="btn btn-primary" onClick={() => setCreating(true)}>
              <PlusIcon /> New tunnel
            </button>
          )}
        </div>
      </div>

      {error && !rows && <p className="form-error" role="alert">Could not load the tunnels: {error.message}</p>}
      {error && rows && error.status !== 0 && ![502, 503, 504].includes(error.status) && (
        // A refresh the server refused (a network failure has the banner instead): the list is the last one loaded.
        <p className="form-error" role="alert">
          Could not refresh the tunnels, so what is shown may be out of date: {error.message}
        </p>
      )}
      {loading && !rows && !error && <p className="muted" role="status">Loading tunnels…</p>}

      {rows && rows.length === 0 && (
        <section className="card empty-state" aria-labelledby="empty-title">
          <div className="empty-icon" aria-hidden="true"><PlugIcon size={28} /></div>
          <h2 id="empty-title">Create your first tunnel</h2>
          <p>
            A tunnel is one client running next to your services, for example on your home server. Create a tunnel,
            run the client with its token, then publish services through it on a domain or a TCP port.
          </p>
          <ol className="steps">
            <li>Create a tunnel and name it after the machine it runs on.</li>
            <li>Copy the client command from the tunnel page and run it there.</li>
            <li>Add HTTP or TCP services to publish.</li>
          </ol>
          <button type="button" className="btn btn-primary" onClick={() => setCreating(true)}>
            <PlusIcon /> Create tunnel
          </button>
        </section>
      )}

      {rows && rows.length > 0 && (
        <ul className="tunnel-list" aria-label="Tunnels">
          {rows.map(({ tunnel, services, checks }) => (
            <li key={tunnel.id} className="card tunnel-card">
              <div className="tunnel-card-main">
                <Link to={`/tunnels/${tunnel.id}`} className="tunnel-name stretched-link">
                  <bdi>{tunnel.name}</bdi>
                </Link>
                <StatusBadge connected={tunnel.connected} />
              </div>
              <div className="tunnel-card-meta">
                <span><GlobeIcon /> {serviceSummary(services)}</span>
                <span className="muted"><PresenceText tunnel={tunnel} /></span>
              </div>
              {checks && <HeartbeatBar checks={checks} label={`Checks of ${isolated(tunnel.name)}`} />}
            </li>
          ))}
        </ul>
      )}

      {creating && <CreateTunnelDialog onClose={() => setCreating(false)} onCreated={reload} />}
    </main>
  );
}

function CreateTunnelDialog({ onClose, onCreated }: { onClose: () => void; onCreated: () => Promise<void> }) {
  const { navigate } = useRouter();
  const [name, setName] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const tunnel = await api.createTunnel(name.trim());
      if (tunnel.token) keepFreshToken(tunnel.id, tunnel.token);
      await onCreated();
      navigate(`/tunnels/${tunnel.id}`);
    } catch (e) {
      setError(tunnelNameMessage(e));
      setBusy(false);
    }
  };

  return (
    <Modal title="New tunnel" onClose={onClose}>
      <form onSubmit={submit} noValidate>
        <div className="field">
          <label className="field-label" htmlFor="tunnel-name">Name</label>
          <input
            id="tunnel-name"
            className="input"
            value={name}
            onChange={(e) => setName(e.target.value)}
            placeholder="home-server"
            autoComplete="off"
            aria-invalid={error ? true : undefined}
            aria-describedby={error ? 'tunnel-name-error' : 'tunnel-name-hint'}
          />
          <p className="hint" id="tunnel-name-hint">Usually the machine the client runs on.</p>
          {error && <p className="field-error" id="tunnel-name-error" role="alert">{error}</p>}
        </div>
        <div className="modal-actions">
          <button type="button" className="btn" onClick={onClose}>Cancel</button>
          <button type="submit" className="btn btn-primary" disabled={busy}>{busy ? 'Creating…' : 'Create tunnel'}</button>
        </div>
      </form>
    </Modal>
  );
}
