import { useCallback, useEffect, useRef, useState } from 'react';
import { ApiError } from './api';

/** How often live data (connection status) is fetched again: the issue allows at most 5 s. */
export const POLL_INTERVAL_MS = 3000;

/** How often the public status page fetches again: a visitor's view, less urgent than an operator's. */
export const STATUS_POLL_INTERVAL_MS = 10_000;

/** A load unanswered for this long no longer holds back the next poll (a connection may hang without an error). */
export const STUCK_LOAD_MS = 30_000;

export interface Polled<T> {
  data: T | undefined;
  error: ApiError | null;
  loading: boolean;
  reload: () => Promise<void>;
}

/**
 * Loads data at once, then again every interval while the page is visible; `reload` fetches at once. Answers can
 * arrive out of order (a poll that left before a write may come back after the reload that follows the write): the
 * page keeps the answer of the newest load, and drops an older one that arrives after it.
 */
export function usePolling<T>(load: () => Promise<T>, intervalMs: number = POLL_INTERVAL_MS): Polled<T> {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<ApiError | null>(null);
  const [loading, setLoading] = useState(true);
  const loadRef = useRef(load);
  loadRef.current = load;
  const mounted = useRef(true);
  /** Loads numbered as they start; the number of the one whose answer (data or error) is shown. */
  const started = useRef(0);
  const shown = useRef(0);
  /** The loads not answered yet, by number, with when each started. */
  const pending = useRef(new Map<number, number>());

  const reload = useCallback(async () => {
    const number = ++started.current;
    pending.current.set(number, Date.now());
    const current = () => {
      if (!mounted.current || number < shown.current) return false;
      shown.current = number;
      return true;
    };
    try {
      const value = await loadRef.current();
      if (!current()) return;
      setData(value);
      setError(null);
    } catch (e) {
      if (!current()) return;
      setError(e instanceof ApiError ? e : new ApiError(0, 'unexpected', String(e), null));
    } finally {
      pending.current.delete(number);
      if (mounted.current) setLoading(false);
    }
  }, []);

  useEffect(() => {
    mounted.current = true;
    void reload();
    // A tick while a load is still out waits for the next one: when the server answers slower than the interval
    // (busy, or a dashboard of many tunnels), loads would otherwise pile up without bound, each slower than the last.
    const timer = window.setInterval(() => {
      const now = Date.now();
      const waiting = [...pending.current.values()].some((since) => now - since < STUCK_LOAD_MS);
      if (document.visibilityState !== 'hidden' && !waiting) void reload();
    }, intervalMs);
    return () => {
      mounted.current = false;
      window.clearInterval(timer);
    };
  }, [reload, intervalMs]);

  return { data, error, loading, reload };
}
