import { Fragment, useCallback } from 'react';
import { api, ApiError, type Check, type Figures, type PicoEvent, type Service, type Stats } from '../api';
import { formatDate, timeAgo } from '../time';
import { usePolling } from '../usePolling';
import { HeartbeatBar } from './HeartbeatBar';
import { WithHostNames } from './HostName';
import { serviceAddress } from './ServicesTable';

/** A figure the server does not have is left out; the server being unreachable keeps what is shown (stale, marked). */
function orWhenMissing<T>(fallback: T) {
  return (e: unknown): T => {
    if (e instanceof ApiError && (e.status === 0 || e.status >= 502)) throw e;
    return fallback;
  };
}

interface Monitoring {
  stats: Stats | null;
  checks: Check[];
  events: PicoEvent[];
}

/** "99.5 %" or "–" without data. */
export function percent(value: number | null | undefined): string {
  return value === null || value === undefined ? '–' : `${value} %`;
}

/** "12.3 MB" and the like, in powers of 1000. */
export function formatBytes(bytes: number | undefined): string {
  const value = bytes ?? 0;
  if (value < 1000) return `${value} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let scaled = value / 1000;
  let unit = 0;
  while (scaled >= 1000 && unit < units.length - 1) {
    scaled /= 1000;
    unit++;
  }
  return `${scaled.toFixed(scaled < 10 ? 1 : 0)} ${units[unit]}`;
}

function UptimeFigures({ figures }: { figures: Figures | null | undefined }) {
  return (
    <dl className="uptime">
      {(['24h', '7d', '30d'] as const).map((window) => (
        <div key={window}>
          <dt>Uptime {window.replace('h', ' h').replace('d', ' d')}</dt>
          <dd>{percent(figures?.[`uptime_${window}`])}</dd>
        </div>
      ))}
      <div>
        <dt>Latency 24 h</dt>
        <dd>{figures?.avg_latency_ms_24h == null ? '–' : `${figures.avg_latency_ms_24h} ms`}</dd>
      </div>
    </dl>
  );
}

/** The round trips of the last up checks as a line, oldest on the left. */
export function LatencyGraph({ checks }: { checks: Check[] }) {
  const points = checks.filter((c) => c.status === 'up' && c.latency_ms !== null).slice(0, 60).reverse();
  if (points.length < 2) return <p className="muted">Not enough checks for a latency graph yet.</p>;
  const max = Math.max(1, ...points.map((c) => c.latency_ms ?? 0));
  const width = 300;
  const height = 60;
  const path = points
    .map((c, i) => `${((i / (points.length - 1)) * width).toFixed(1)},${(height - ((c.latency_ms ?? 0) / max) * (height - 4) - 2).toFixed(1)}`)
    .join(' ');
  return (
    <figure className="latency">
      <svg viewBox={`0 0 ${width} ${height}`} preserveAspectRatio="none" role="img"
           aria-label={`Latency of the last ${points.length} checks, up to ${max} ms`}>
        <polyline points={path} fill="none" stroke="currentColor" strokeWidth="2" vectorEffect="non-scaling-stroke" />
      </svg>
      <figcaption className="muted">Latency, last {points.length} checks (max {max} ms)</figcaption>
    </figure>
  );
}

/**
 * For events recorded before the server kept the client's own fields (`client`): the server writes what a client says
 * of itself last in its events' messages: "Client … connected from … (version V, host H)" and "Client … from …
 * (version V) left". The server's EventLogTest reads this declaration (keep it on one line) and checks the messages of
 * EventLog.clientConnected and clientLeft against it.
 */
const CLIENT_SAYS = /^(.*? \(version )(.*?)(?:(, host )(.*))?(\)(?: left)?)$/s;

/** A client's event in the parts EventMessage shows: the version and host the client said, and the words around them. */
type ClientSays = [before: string, version: string, hostLabel: string | undefined, host: string | undefined, after: string];

/**
 * The parts of a client's event: from its fields, written as the server writes the message (EventLog.clientConnected
 * and clientLeft), so that a version such as "1.0, host x" is not read as a host; from the message for older events.
 */
function clientSays(event: PicoEvent): ClientSays | null {
  const client = event.client;
  if (client && (event.type === 'client_connected' || event.type === 'client_left')) {
    const connected = event.type === 'client_connected';
    const before = connected ? `Client ${client.id} connected from ${client.remote_addr} (version `
      : `Client ${client.id} from ${client.remote_addr} (version `;
    return [before, client.version ?? 'unknown', connected ? ', host ' : undefined,
      connected ? client.hostname ?? 'unknown' : undefined, connected ? ')' : ') left'];
  }
  const said = event.type.startsWith('client_') ? CLIENT_SAYS.exec(event.message) : null;
  return said ? [said[1], said[2], said[3], said[4], said[5]] : null;
}

/**
 * An event's message, its host names read in Unicode; in a client's event, the version and host name the client sent
 * each in a `<bdi>`, so that a right-to-left one does not reorder the words after it.
 */
function EventMessage({ event }: { event: PicoEvent }) {
  const client = clientSays(event);
  if (!client) return <WithHostNames text={event.message} />;
  const [before, version, hostLabel, host, after] = client;
  return (
    <>
      <WithHostNames text={before} />
      <bdi>{version}</bdi>
      {hostLabel !== undefined && (
        <Fragment>
          {hostLabel}
          <bdi><WithHostNames text={host ?? ''} /></bdi>
        </Fragment>
      )}
      {after}
    </>
  );
}

/** Uptime, heartbeat bars, latency, traffic per service and events of one tunnel, polled. */
export function MonitoringPanel({ tunnelId, services }: { tunnelId: string; services: Service[] }) {
  const load = useCallback(async (): Promise<Monitoring> => {
    const [stats, checks, events] = await Promise.all([
      api.stats(tunnelId).catch(orWhenMissing<Stats | null>(null)),
      api.checks(tunnelId, 60).catch(orWhenMissing<Check[]>([])),
      api.tunnelEvents(tunnelId, 20).catch(orWhenMissing<PicoEvent[]>([])),
    ]);
    return { stats, checks, events };
  }, [tunnelId]);
  const { data } = usePolling(load);
  const stats = data?.stats;

  return (
    <>
      <section className="card" aria-labelledby="uptime-title">
        <div className="card-header">
          <h2 id="uptime-title">Uptime</h2>
          {stats?.since && (
            <span className="muted" title={formatDate(stats.since)}>
              {stats.status === 'up' ? 'Up' : 'Down'} since {timeAgo(stats.since)}
            </span>
          )}
        </div>
        <HeartbeatBar checks={data?.checks ?? []} label="Tunnel checks" />
        <UptimeFigures figures={stats} />
        <LatencyGraph checks={data?.checks ?? []} />
      </section>

      <section className="card" aria-labelledby="traffic-title">
        <h2 id="traffic-title">Traffic</h2>
        {services.length === 0 ? (
          <p className="muted">Traffic shows here once the tunnel has a service.</p>
        ) : (
          <div className="table-scroll">
          <table className="table traffic-table">
            <thead>
              <tr>
                <th scope="col">Service</th>
                <th scope="col">In</th>
                <th scope="col">Out</th>
                <th scope="col">Open</th>
                <th scope="col">Total</th>
                <th scope="col">Uptime 24 h</th>
              </tr>
            </thead>
            <tbody>
              {services.map((service) => {
                const figures = stats?.services.find((s) => s.service_id === service.id);
                return (
                  <tr key={service.id}>
                    <th scope="row">{serviceAddress(service)}</th>
                    <td>{formatBytes(service.bytes_in)}</td>
                    <td>{formatBytes(service.bytes_out)}</td>
                    <td>{service.active_connections ?? 0}</td>
                    <td>
                      {service.total_connections ?? 0}
                      {service.requests && (
                        <span className="muted"> ({service.requests['2xx']} 2xx, {service.requests['4xx']} 4xx, {service.requests['5xx']} 5xx)</span>
                      )}
                    </td>
                    <td>{service.health_check === false ? 'not checked' : percent(figures?.uptime_24h)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          </div>
        )}
      </section>

      <section className="card" aria-labelledby="events-title">
        <h2 id="events-title">Events</h2>
        {(data?.events.length ?? 0) === 0 ? (
          <p className="muted">Nothing has happened yet.</p>
        ) : (
          <ul className="events" aria-label="Events">
            {data?.events.map((event) => (
              <li key={event.id} className={`event event-${event.type}`}>
                <time dateTime={event.created_at} title={formatDate(event.created_at)}>{timeAgo(event.created_at)}</time>
                <span><EventMessage event={event} /></span>
              </li>
            ))}
          </ul>
        )}
      </section>
    </>
  );
}
