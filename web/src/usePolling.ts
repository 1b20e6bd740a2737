import { useCallback, useEffect, useRef, useState } from 'react';
import { ApiError } from './api';

/** How often live data (connection status) is fetched again: the issue allows at most 5 s. */
export const POLL_INTERVAL_MS = 3000;

export interface Polled<T> {
  data: T | undefined;
  error: ApiError | null;
  loading: boolean;
  reload: () => Promise<void>;
}

/** Loads data at once, then again every interval while the page is visible; `reload` fetches at once. */
export function usePolling<T>(load: () => Promise<T>, intervalMs: number = POLL_INTERVAL_MS): Polled<T> {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<ApiError | null>(null);
  const [loading, setLoading] = useState(true);
  const loadRef = useRef(load);
  loadRef.current = load;
  const mounted = useRef(true);

  const reload = useCallback(async () => {
    try {
      const value = await loadRef.current();
      if (!mounted.current) return;
      setData(value);
      setError(null);
    } catch (e) {
      if (!mounted.current) return;
      setError(e instanceof ApiError ? e : new ApiError(0, 'unexpected', String(e), null));
    } finally {
      if (mounted.current) setLoading(false);
    }
  }, []);

  useEffect(() => {
    mounted.current = true;
    void reload();
    const timer = window.setInterval(() => {
      if (document.visibilityState !== 'hidden') void reload();
    }, intervalMs);
    return () => {
      mounted.current = false;
      window.clearInterval(timer);
    };
  }, [reload, intervalMs]);

  return { data, error, loading, reload };
}
