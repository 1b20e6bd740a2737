import type { Tunnel } from '../api';
import { formatDate, timeAgo } from '../time';
import { useServerReachable } from '../useServerReachable';

/** Connected or offline; "Unknown" while the server cannot be reached (the last state seen may be stale). */
export function StatusBadge({ connected }: { connected: boolean }) {
  const { reachable } = useServerReachable();
  if (!reachable) {
    return (
      <span className="badge badge-warn" title="The server cannot be reached">
        <span className="dot" aria-hidden="true" />
        Unknown
      </span>
    );
  }
  return (
    <span className={`badge ${connected ? 'badge-ok' : 'badge-muted'}`}>
      <span className="dot" aria-hidden="true" />
      {connected ? 'Connected' : 'Offline'}
    </span>
  );
}

/** "Connected since …", "Last seen …" or "Never connected", with the exact time as a tooltip. */
export function PresenceText({ tunnel }: { tunnel: Tunnel }) {
  const { reachable } = useServerReachable();
  if (!reachable) return <span>State unknown: the server cannot be reached</span>;
  if (tunnel.connected && tunnel.connected_since) {
    return (
      <span title={formatDate(tunnel.connected_since)}>
        Connected since <time dateTime={tunnel.connected_since}>{timeAgo(tunnel.connected_since)}</time>
      </span>
    );
  }
  if (!tunnel.connected && tunnel.last_seen_at) {
    return (
      <span title={formatDate(tunnel.last_seen_at)}>
        Last seen <time dateTime={tunnel.last_seen_at}>{timeAgo(tunnel.last_seen_at)}</time>
      </span>
    );
  }
  return <span>{tunnel.connected ? 'Connected' : 'No client has connected yet'}</span>;
}
