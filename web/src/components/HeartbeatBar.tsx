import type { Check } from '../api';
import { isolated } from '../bidi';
import { formatDate } from '../time';
import { useServerReachable } from '../useServerReachable';

/** What a bar's tooltip says: when, and the latency or why it was down (the server's words, isolated: they may name a host). */
export function describeCheck(check: Check): string {
  const when = formatDate(check.created_at);
  return check.status === 'up'
    ? `${when}: up, ${check.latency_ms ?? '?'} ms`
    : `${when}: down, ${check.error == null ? 'no reason given' : isolated(check.error)}`;
}

/**
 * The last checks as coloured bars, oldest on the left (green up, red down; grey slots before the first check),
 * each with a tooltip. `checks` come newest first, as the API gives them.
 */
export function HeartbeatBar({ checks, slots = 30, label }: { checks: Check[]; slots?: number; label: string }) {
  const shown = checks.slice(0, slots).reverse();
  const empty = slots - shown.length;
  const up = shown.filter((c) => c.status === 'up').length;
  const { reachable } = useServerReachable();
  const summary = shown.length === 0 ? `${label}: no checks yet` : `${label}: ${up} of the last ${shown.length} checks up`;
  return (
    <div className={reachable ? 'heartbeat' : 'heartbeat heartbeat-stale'} role="img"
         aria-label={reachable ? summary : `${summary} (out of date: the server cannot be reached)`}>
      {Array.from({ length: empty }, (_, i) => <span key={`empty-${i}`} className="beat beat-empty" />)}
      {shown.map((check) => (
        <span key={check.id} className={`beat beat-${check.status}`} title={describeCheck(check)} data-status={check.status} />
      ))}
    </div>
  );
}
