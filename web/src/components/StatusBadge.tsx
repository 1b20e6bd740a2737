import type { Tunnel } from '../api';
import { formatDate, timeAgo } from '../time';

export function StatusBadge({ connected }: { connected: boolean }) {
  return (
    <span className={`badge ${connected ? 'badge-ok' : 'badge-muted'}`}>
      <span className="dot" aria-hidden="true" />
      {connected ? 'Connected' : 'Offline'}
    </span>
  );
}

/** "Connected since …", "Last seen …" or "Never connected", with the exact time as a tooltip. */
export function PresenceText({ tunnel }: { tunnel: Tunnel }) {
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
