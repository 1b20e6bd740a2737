import { act, renderHook, waitFor } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { usePolling } from './usePolling';

/** A promise and the functions that settle it. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describe('usePolling', () => {
  it('keeps the answer of the newest load when an older one arrives after it', async () => {
    const slow = deferred<string>();
    const answers = [slow.promise, Promise.resolve('after the delete')];
    const { result } = renderHook(() => usePolling(() => answers.shift() ?? new Promise<string>(() => undefined), 60_000));

    await act(async () => {
      await result.current.reload();
    });
    expect(result.current.data).toBe('after the delete');

    await act(async () => {
      slow.resolve('before the delete');
      await slow.promise;
    });
    await waitFor(() => expect(result.current.loading).toBe(false));
    expect(result.current.data).toBe('after the delete');
  });
});
