import { formatDate } from '../time';
import { useServerReachable } from '../useServerReachable';

/**
 * Says at once that the server cannot be reached, while the UI keeps trying: states on the page are then unknown
 * (status badges show "Unknown"), not the last ones seen.
 */
export function ServerUnreachableBanner() {
  const { reachable, lastContact } = useServerReachable();
  if (reachable) return null;
  return (
    <div className="banner banner-error" role="alert">
      <strong>The PicoTunnel server cannot be reached.</strong>{' '}
      Tunnel states are unknown until it answers again
      {lastContact ? <> (last answer {formatDate(lastContact.toISOString())})</> : null}. This page keeps trying;
      check that the server is running and that your network can reach it.
    </div>
  );
}
