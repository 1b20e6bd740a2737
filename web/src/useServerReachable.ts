import { useEffect, useState } from 'react';
import { onReachability } from './api';

export interface Reachability {
  reachable: boolean;
  /** When the server last answered, or null if it never did. */
  lastContact: Date | null;
}

/** Whether the server answered the last request: false after a network error (or a 502/503/504 from a proxy). */
export function useServerReachable(): Reachability {
  const [state, setState] = useState<Reachability>({ reachable: true, lastContact: null });
  useEffect(() => onReachability((reachable, lastContact) => setState({ reachable, lastContact })), []);
  return state;
}
