import { useCallback, useEffect, useState, type FormEvent, type ReactNode } from 'react';
import { api, ApiError, tunnelNameMessage, type ServerInfo, type Service, type ServiceInput, type Tunnel } from '../api';
import { ClientCommands } from '../components/ClientCommands';
import { ClientsTable } from '../components/ClientsTable';
import { ArrowLeftIcon, EditIcon, PlusIcon, TrashIcon } from '../components/Icons';
import { ConfirmDialog, Modal } from '../components/Modal';
import { MonitoringPanel } from '../components/MonitoringPanel';
import { ServiceForm } from '../components/ServiceForm';
import { serviceAddress, ServicesTable } from '../components/ServicesTable';
import { PresenceText, StatusBadge } from '../components/StatusBadge';
import { TokenPanel } from '../components/TokenPanel';
import { forgetFreshToken, peekFreshToken } from '../freshTokens';
import { Link, useRouter } from '../router';
import { POLL_INTERVAL_MS, usePolling } from '../usePolling';
import { useServerReachable } from '../useServerReachable';

interface Loaded {
  tunnel: Tunnel;
  services: Service[];
}

type Editing = { mode: 'add' } | { mode: 'edit'; service: Service } | null;

export function TunnelPage({ id, tunnelServer }: { id: string; tunnelServer: string }) {
  const { navigate } = useRouter();
  const load = useCallback(async (): Promise<Loaded> => {
    const [tunnel, services] = await Promise.all([api.tunnel(id), api.services(id)]);
    return { tunnel, services };
  }, [id]);
  const { data, error, reload } = usePolling(load);
  const { reachable } = useServerReachable();
  // The token only if this page was opened right after creating the tunnel, or the token was regenerated here.
  const [token, setToken] = useState<string | null>(() => peekFreshToken(id));
  const [revealed, setRevealed] = useState(() => peekFreshToken(id) !== null);
  useEffect(() => () => forgetFreshToken(id), [id]);
  const [editing, setEditing] = useState<Editing>(null);
  const [deleting, setDeleting] = useState<Service | null>(null);
  const [deletingTunnel, setDeletingTunnel] = useState(false);
  const [busy, setBusy] = useState(false);
  const [actionError, setActionError] = useState<string | null>(null);
  const [busyIds, setBusyIds] = useState<Set<string>>(new Set());
  const [notice, setNotice] = useState<ReactNode>(null);
  const [serverInfo, setServerInfo] = useState<ServerInfo | null>(null);
  const [renaming, setRenaming] = useState<string | null>(null);
  const [renameError, setRenameError] = useState<string | null>(null);
  useEffect(() => {
    let current = true;
    let retry: number | undefined;
    const load = () => api.server().then(
      (info) => current && setServerInfo(info),
      // Meanwhile the page works without it (commands without a registry prefix, no public addresses); asked again,
      // so that one failure as the page opened (a proxy's 502 during a restart) does not hide them until a reload.
      () => {
        if (current) retry = window.setTimeout(load, POLL_INTERVAL_MS);
      },
    );
    void load();
    return () => {
      current = false;
      window.clearTimeout(retry);
    };
  }, []);

  // A 404 ends the page even after it has shown the tunnel: deleted elsewhere (another tab, another admin, a script),
  // it is gone, and what the page last loaded must not stay on screen as if current.
  if (error && (!data || error.status === 404)) {
    return (
      <main id="main" className="page" tabIndex={-1}>
        <BackLink />
        {error.status === 404 ? (
          <section className="card empty-state">
            <h1>Tunnel not found</h1>
            <p>It may have been deleted. Go back to the list of tunnels.</p>
          </section>
        ) : (
          <p className="form-error" role="alert">Could not load the tunnel: {error.message}</p>
        )}
      </main>
    );
  }
  if (!data) {
    return (
      <main id="main" className="page" tabIndex={-1}>
        <BackLink />
        <p className="muted" role="status">Loading tunnel…</p>
      </main>
    );
  }

  const tunnel = data.tunnel;
  const services = data.services;
  const clients = tunnel.clients ?? [];
  // A refresh the server refused (a network failure has the banner instead): what is shown is what was loaded last.
  const refreshError = error && error.status !== 0 && ![502, 503, 504].includes(error.status) ? error : null;

  const saveService = async (input: ServiceInput) => {
    if (editing?.mode === 'edit') {
      await api.updateService(editing.service.id, input);
      setNotice(<>Saved <bdi>{serviceAddress({ ...editing.service, ...input } as Service)}</bdi>.</>);
    } else {
      const created = await api.createService(id, input);
      setNotice(<>Added <bdi>{serviceAddress(created)}</bdi>.</>);
    }
    setEditing(null);
    await reload();
  };

  const rename = async (event: FormEvent) => {
    event.preventDefault();
    const name = (renaming ?? '').trim();
    if (!name) {
      setRenameError('Enter a name for the tunnel.');
      return;
    }
    setBusy(true);
    setRenameError(null);
    try {
      await api.renameTunnel(tunnel.id, name);
      setRenaming(null);
      setNotice(<>Tunnel renamed to <bdi>{name}</bdi>.</>);
      await reload();
    } catch (e) {
      setRenameError(tunnelNameMessage(e));
    } finally {
      setBusy(false);
    }
  };

  const togglePublic = async (shown: boolean) => {
    setBusy(true);
    setActionError(null);
    try {
      await api.setPublicStatus(tunnel.id, shown);
      setNotice(<><bdi>{tunnel.name}</bdi> {shown ? 'is shown on' : 'is no longer on'} the public status page.</>);
      await reload();
    } catch (e) {
      setActionError(e instanceof ApiError ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };

  const toggle = async (service: Service, enabled: boolean) => {
    setBusyIds((ids) => new Set(ids).add(service.id));
    setActionError(null);
    try {
      await api.updateService(service.id, { enabled });
      setNotice(<><bdi>{serviceAddress(service)}</bdi> {enabled ? 'enabled' : 'disabled'}.</>);
      await reload();
    } catch (e) {
      setActionError(e instanceof ApiError ? e.message : String(e));
    } finally {
      setBusyIds((ids) => {
        const next = new Set(ids);
        next.delete(service.id);
        return next;
      });
    }
  };

  const confirmDeleteService = async () => {
    if (!deleting) return;
    setBusy(true);
    setActionError(null);
    try {
      await api.deleteService(deleting.id);
      setNotice(<>Deleted <bdi>{serviceAddress(deleting)}</bdi>.</>);
      setDeleting(null);
      await reload();
    } catch (e) {
      setActionError(e instanceof ApiError ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };

  const confirmDeleteTunnel = async () => {
    setBusy(true);
    setActionError(null);
    try {
      await api.deleteTunnel(tunnel.id);
      navigate('/');
    } catch (e) {
      setActionError(e instanceof ApiError ? e.message : String(e));
      setBusy(false);
    }
  };

  return (
    <main id="main" className="page" tabIndex={-1}>
      <BackLink />
      <div className="page-header">
        <div>
          {renaming === null ? (
            <div className="rename-form">
              <h1 className="tunnel-title">
                <bdi>{tunnel.name}</bdi> <StatusBadge connected={tunnel.connected} />
              </h1>
              <button type="button" className="btn btn-sm" onClick={() => setRenaming(tunnel.name)}>
                <EditIcon /> Rename
              </button>
            </div>
          ) : (
            <form className="rename-form" onSubmit={rename} noValidate>
              <label className="visually-hidden" htmlFor="tunnel-name">Tunnel name</label>
              <input
                id="tunnel-name"
                className="input"
                value={renaming}
                autoFocus
                maxLength={200}
                aria-invalid={renameError ? true : undefined}
                aria-describedby={renameError ? 'tunnel-name-error' : undefined}
                onChange={(e) => setRenaming(e.target.value)}
                onKeyDown={(e) => {
                  if (e.key === 'Escape') {
                    setRenaming(null);
                    setRenameError(null);
                  }
                }}
              />
              <button type="submit" className="btn btn-primary btn-sm" disabled={busy}>Save name</button>
              <button type="button" className="btn btn-sm" onClick={() => { setRenaming(null); setRenameError(null); }}>
                Cancel
              </button>
              {renameError && <p className="field-error" id="tunnel-name-error" role="alert">{renameError}</p>}
            </form>
          )}
          <p className="subtitle" aria-live="polite">
            <PresenceText tunnel={tunnel} />
          </p>
          <div className="public-status-toggle">
            <label className="switch">
              <input
                type="checkbox"
                role="switch"
                checked={tunnel.public_status ?? false}
                disabled={busy}
                aria-label="Show on the public status page"
                onChange={(e) => void togglePublic(e.target.checked)}
              />
              <span className="switch-track" aria-hidden="true" />
            </label>
            <span>Show on the <a href="/status">public status page</a></span>
          </div>
        </div>
        <button type="button" className="btn btn-ghost-danger" onClick={() => setDeletingTunnel(true)}>
          <TrashIcon /> Delete tunnel
        </button>
      </div>

      <div className="visually-hidden" role="status" aria-live="polite">{notice}</div>
      {refreshError && (
        <p className="form-error" role="alert">
          Could not refresh the tunnel, so what is shown may be out of date: {refreshError.message}
        </p>
      )}

      <section className="card" aria-labelledby="services-title">
        <div className="card-header">
          <h2 id="services-title">Services</h2>
          <button type="button" className="btn btn-primary" onClick={() => setEditing({ mode: 'add' })}>
            <PlusIcon /> Add service
          </button>
        </div>
        {actionError && !deleting && !deletingTunnel && <p className="form-error" role="alert">{actionError}</p>}
        {services.length === 0 ? (
          <div className="empty-inline">
            <p>
              No services yet. Add an <strong>HTTP</strong> service to publish a website on a domain, or a{' '}
              <strong>TCP</strong> service to forward a port (SSH, databases, game servers).
            </p>
          </div>
        ) : (
          <ServicesTable
            serverInfo={serverInfo}
            services={services}
            busyIds={busyIds}
            onToggle={toggle}
            onEdit={(service) => setEditing({ mode: 'edit', service })}
            onDelete={(service) => setDeleting(service)}
          />
        )}
      </section>

      <section className="card" aria-labelledby="clients-title">
        <div className="card-header">
          <h2 id="clients-title">Clients</h2>
          <span className="muted" aria-live="polite">
            {!reachable ? 'unknown: the server cannot be reached' : clients.length === 1 ? '1 connected' : `${clients.length} connected`}
          </span>
        </div>
        <ClientsTable clients={clients} />
      </section>

      <MonitoringPanel tunnelId={tunnel.id} services={services} />

      <section className="card" aria-labelledby="connect-title">
        <div className="card-header">
          <h2 id="connect-title">Connect a client</h2>
        </div>
        <p className="muted">
          Run the client on the machine that can reach your services. It connects out to this server, so no port
          needs to be opened there.
        </p>
        <TokenPanel
          tunnel={tunnel}
          token={token}
          revealed={revealed}
          onRevealedChange={setRevealed}
          onRegenerated={(updated) => {
            setToken(updated.token);
            setNotice('Token regenerated. The old token no longer works.');
            void reload();
          }}
        />
        <ClientCommands
          server={tunnelServer}
          token={token}
          tunnelName={tunnel.name}
          revealed={revealed}
          imagePrefix={serverInfo?.image_prefix ?? ''}
        />
      </section>

      {editing && (
        <Modal title={editing.mode === 'add' ? 'Add service' : 'Edit service'} onClose={() => setEditing(null)}>
          <ServiceForm
            service={editing.mode === 'edit' ? editing.service : undefined}
            onSubmit={saveService}
            onCancel={() => setEditing(null)}
          />
        </Modal>
      )}
      {deleting && (
        <ConfirmDialog
          title="Delete service?"
          message={<p><bdi>{serviceAddress(deleting)}</bdi> stops being reachable at once.</p>}
          confirmLabel="Delete service"
          danger
          busy={busy}
          error={actionError}
          onConfirm={confirmDeleteService}
          onCancel={() => {
            setDeleting(null);
            setActionError(null);
          }}
        />
      )}
      {deletingTunnel && (
        <ConfirmDialog
          title={<>Delete tunnel <bdi>{tunnel.name}</bdi>?</>}
          message={<p>{deleteTunnelMessage(services.length)}</p>}
          confirmLabel="Delete tunnel"
          danger
          busy={busy}
          error={actionError}
          onConfirm={confirmDeleteTunnel}
          onCancel={() => {
            setDeletingTunnel(false);
            setActionError(null);
          }}
        />
      )}
    </main>
  );
}

function BackLink() {
  return (
    <Link to="/" className="back-link">
      <ArrowLeftIcon /> All tunnels
    </Link>
  );
}

/** What deleting a tunnel takes with it, in words that fit its number of services. */
function deleteTunnelMessage(serviceCount: number): string {
  if (serviceCount === 0) return 'Its clients are disconnected.';
  if (serviceCount === 1) return 'Its service is deleted too, and its clients are disconnected.';
  return `Its ${serviceCount} services are deleted too, and its clients are disconnected.`;
}
