import { afterEach, describe, expect, it, vi } from 'vitest';
import { api, ApiError, CSRF_HEADER, fieldOf, onReachability, REQUEST_TIMEOUT_MS } from './api';
import { mockFetch } from './test/fetchMock';

describe('api', () => {
  it('sends the CSRF header on writes but not on reads', async () => {
    const calls = mockFetch({
      'GET /api/tunnels': { status: 200, body: [] },
      'POST /api/tunnels': { status: 201, body: { id: 'x' } },
    });
    await api.tunnels();
    await api.createTunnel('n');
    expect(calls[0].headers[CSRF_HEADER]).toBeUndefined();
    expect(calls[1].headers[CSRF_HEADER]).toBe('1');
    expect(calls[1].body).toEqual({ name: 'n' });
  });

  it('turns an error answer into an ApiError naming the field', async () => {
    mockFetch({
      'POST /api/tunnels/t/services': {
        status: 400,
        body: { error: 'invalid_target_addr', message: 'target_addr must be host:port' },
      },
    });
    const error = await api.createService('t', { type: 'tcp', target_addr: 'x', enabled: true }).catch((e) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error.status).toBe(400);
    expect(error.field).toBe('target_addr');
    expect(error.message).toBe('target_addr must be host:port');
  });

  describe('a server that takes the request and never answers', () => {
    afterEach(() => {
      vi.useRealTimers();
    });

    /** As a browser's fetch does with such a server: it waits until its signal is aborted. */
    function stubSilentServer() {
      vi.stubGlobal('fetch', vi.fn((_input: RequestInfo | URL, init?: RequestInit) => new Promise<Response>((_, reject) => {
        init?.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')));
      })));
    }

    it('fails a read after the time limit, saying so, and counts the server unreachable', async () => {
      vi.useFakeTimers();
      stubSilentServer();
      const heard: boolean[] = [];
      const stop = onReachability((reachable) => heard.push(reachable));
      let settled = false;
      const answer = api.tunnels().then(
        () => 'answered',
        (e: unknown) => e,
      ).finally(() => {
        settled = true;
      });
      await vi.advanceTimersByTimeAsync(REQUEST_TIMEOUT_MS - 1);
      expect(settled).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      const error = await answer;
      stop();
      expect(error).toBeInstanceOf(ApiError);
      expect((error as ApiError).code).toBe('timeout');
      expect((error as ApiError).message).toBe(
        'The server did not answer within 15 seconds. Check your connection and the server, then try again.');
      expect(heard.at(-1)).toBe(false);
    });

    it('fails a write after the time limit, saying the change may have been made', async () => {
      vi.useFakeTimers();
      stubSilentServer();
      const answer = api.createTunnel('n').catch((e: unknown) => e);
      await vi.advanceTimersByTimeAsync(REQUEST_TIMEOUT_MS);
      expect(((await answer) as ApiError).message).toContain('the change may or may not have been made');
    });
  });

  it('prefers an explicit field over the message text', () => {
    expect(fieldOf({ field: 'domain', message: 'target_addr is fine' })).toBe('domain');
    expect(fieldOf({ message: 'malformed JSON' })).toBeNull();
  });
});
