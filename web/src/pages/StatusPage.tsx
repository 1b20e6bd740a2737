import { useCallback, useEffect } from 'react';
import { isolated } from '../bidi';
import { api, type Check, type PublicHeartbeat, type PublicService, type PublicTunnel } from '../api';
import { HeartbeatBar } from '../components/HeartbeatBar';
import { WithHostNames } from '../components/HostName';
import { LogoIcon } from '../components/Icons';
import { percent } from '../components/MonitoringPanel';
import { formatDate, timeAgo } from '../time';
import { STATUS_POLL_INTERVAL_MS, usePolling } from '../usePolling';

/** The public page shows no reason for a down check, only that it was down. */
const GENERIC_DOWN = 'not reachable';

/** The heartbeat bars take checks: the public data has no ids or errors, so give them neutral ones. */
export function asChecks(heartbeats: PublicHeartbeat[]): Check[] {
  return heartbeats.map((beat, index) => ({
    id: index,
    tunnel_id: '',
    service_id: null,
    status: beat.status,
    latency_ms: beat.latency_ms,
    error: beat.status === 'down' ? GENERIC_DOWN : null,
    created_at: beat.time,
  }));
}

function StateText({ figures }: { figures: PublicService }) {
  if (figures.status === null) return <span className="badge badge-muted">No data yet</span>;
  const up = figures.status === 'up';
  return (
    <span className={up ? 'badge badge-ok' : 'badge badge-error'}
          title={figures.since ? `${up ? 'Up' : 'Down'} since ${formatDate(figures.since)}` : undefined}>
      {up ? 'Up' : 'Down'}
      {figures.since && <span> since {timeAgo(figures.since)}</span>}
    </span>
  );
}

function Uptimes({ figures }: { figures: PublicService }) {
  return (
    <dl className="uptime">
      {(['24h', '7d', '30d'] as const).map((window) => (
        <div key={window}>
          <dt>Uptime {window.replace('h', ' h').replace('d', ' d')}</dt>
          <dd>{percent(figures[`uptime_${window}`])}</dd>
        </div>
      ))}
    </dl>
  );
}

function TunnelStatus({ tunnel }: { tunnel: PublicTunnel }) {
  return (
    <li className="card status-tunnel">
      <div className="card-header">
        <h2><bdi>{tunnel.name}</bdi></h2>
        <StateText figures={{ ...tunnel, type: 'http' }} />
      </div>
      <HeartbeatBar checks={asChecks(tunnel.heartbeats)} slots={50} label={`Checks of ${isolated(tunnel.name)}`} />
      <Uptimes figures={{ ...tunnel, type: 'http' }} />
      {tunnel.services.length > 0 && (
        <div className="table-scroll">
          <table className="table">
            <thead>
              <tr>
                <th scope="col">Service</th>
                <th scope="col">State</th>
                <th scope="col">Uptime 24 h</th>
                <th scope="col">Uptime 30 d</th>
              </tr>
            </thead>
            <tbody>
              {tunnel.services.map((service, index) => (
                <tr key={`${service.name}-${index}`}>
                  <th scope="row"><bdi><WithHostNames text={service.name} /></bdi></th>
                  <td><StateText figures={service} /></td>
                  <td>{percent(service.uptime_24h)}</td>
                  <td>{percent(service.uptime_30d)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </li>
  );
}

/** `/status`: the tunnels the operator made public, for anyone, without signing in. */
export function StatusPage() {
  const load = useCallback(() => api.publicStatus(), []);
  const { data, error } = usePolling(load, STATUS_POLL_INTERVAL_MS);
  useEffect(() => {
    document.title = 'Status · PicoTunnel';
  }, []);

  return (
    <>
      <header className="topbar">
        <span className="brand">
          <LogoIcon />
          <span>Status</span>
        </span>
      </header>
      <main id="main" className="page" tabIndex={-1}>
        <div className="page-header">
          <h1>Status</h1>
        </div>
        {error && <p className="form-error" role="alert">The status could not be loaded: {error.message}</p>}
        {!data && !error && <p className="muted" role="status">Loading status…</p>}
        {data && data.length === 0 && (
          <section className="card empty-state">
            <h2>No public status yet</h2>
            <p>Nothing is shown here until the operator picks tunnels for this page.</p>
          </section>
        )}
        {data && data.length > 0 && (
          <ul className="status-list" aria-label="Public status">
            {data.map((tunnel, index) => <TunnelStatus key={`${tunnel.name}-${index}`} tunnel={tunnel} />)}
          </ul>
        )}
      </main>
    </>
  );
}
