import { act, fireEvent, render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { App, SESSION_ENDED } from './App';
import { mockFetch } from './test/fetchMock';
import { forgetSignOut, REQUEST_TIMEOUT_MS } from './api';
import { POLL_INTERVAL_MS } from './usePolling';

describe('App', () => {
  afterEach(() => forgetSignOut()); // a test's sign-out is the page's, which the next test must not inherit

  it('says so when the server takes the session check and never answers, instead of "Loading…" for good', async () => {
    window.history.replaceState(null, '', '/');
    vi.useFakeTimers({ shouldAdvanceTime: true });
    try {
      vi.stubGlobal('fetch', vi.fn((_input: RequestInfo | URL, init?: RequestInit) => new Promise<Response>((_, reject) => {
        init?.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')));
      })));
      render(<App />);
      expect(screen.getByRole('status').textContent).toBe('Loading…');
      await act(() => vi.advanceTimersByTimeAsync(REQUEST_TIMEOUT_MS));
      expect((await screen.findByRole('alert')).textContent).toBe('Could not reach the server: The server did not answer'
        + ' within 15 seconds. Check your connection and the server, then try again. This page keeps trying.');
    } finally {
      vi.useRealTimers();
    }
  });

  it('shows the sign-in page when the session has ended', async () => {
    window.history.replaceState(null, '', '/');
    mockFetch({
      'GET /auth/session': { status: 200, body: { signed_in: true, method: 'token', user: 'admin', tunnel_server: 'ws://h:8443' } },
      'GET /api/tunnels': { status: 401, body: { error: 'unauthorized', message: 'Sign in first.' } },
    });
    render(<App />);
    expect(await screen.findByRole('heading', { name: 'Sign in to PicoTunnel' })).toBeTruthy();
    expect(screen.getByLabelText('Admin token')).toBeTruthy();
    expect(screen.getByRole('alert').textContent).toBe(SESSION_ENDED);
  });

  it('opens a deep link to a tunnel page', async () => {
    window.history.replaceState(null, '', '/tunnels/a1b2c3d4e5f60718');
    mockFetch({
      'GET /auth/session': { status: 200, body: { signed_in: true, method: 'oidc', user: 'alice@example.com', tunnel_server: 'ws://h:8443' } },
      'GET /api/tunnels/a1b2c3d4e5f60718': {
        status: 200,
        body: { id: 'a1b2c3d4e5f60718', name: 'home', token: null, created_at: '', updated_at: '', connected: false, clients: [] },
      },
      'GET /api/tunnels/a1b2c3d4e5f60718/services': { status: 200, body: [] },
    });
    render(<App />);
    expect(await screen.findByRole('heading', { name: /home/ })).toBeTruthy();
    expect(screen.getByText('alice@example.com')).toBeTruthy();
    expect(screen.getByRole('tabpanel').textContent).toContain('ws://h:8443');
  });

  it('shows the token of a new tunnel once on its page, and only a way to regenerate it after a reload', async () => {
    window.history.replaceState(null, '', '/');
    vi.stubGlobal('scrollTo', vi.fn());
    const token = 'c'.repeat(64);
    const stored = { id: 'a1b2c3d4e5f60718', name: 'home', token: null, created_at: '', updated_at: '', connected: false, clients: [] };
    let tunnels: unknown[] = [];
    mockFetch({
      'GET /auth/session': { status: 200, body: { signed_in: true, method: 'token', user: 'admin', tunnel_server: 'ws://h:8443' } },
      'GET /api/tunnels': () => ({ status: 200, body: tunnels }),
      'POST /api/tunnels': () => {
        tunnels = [stored];
        return { status: 201, body: { ...stored, token } };
      },
      'GET /api/tunnels/a1b2c3d4e5f60718': { status: 200, body: stored },
      'GET /api/tunnels/a1b2c3d4e5f60718/services': { status: 200, body: [] },
    });
    const user = userEvent.setup();
    const first = render(<App />);
    await user.click(await screen.findByRole('button', { name: 'Create tunnel' }));
    await user.type(screen.getByLabelText('Name'), 'home');
    await user.click(within(screen.getByRole('dialog')).getByRole('button', { name: 'Create tunnel' }));

    expect(await screen.findByRole('heading', { name: /home/ })).toBeTruthy();
    expect((screen.getByLabelText('Tunnel token') as HTMLInputElement).value).toBe(token);
    expect(screen.getByRole('note').textContent).toContain('shown only this once');
    expect(screen.getByRole('tabpanel').textContent).toContain(`PICOTUNNEL_TOKEN=${token}`);
    first.unmount();

    render(<App />);
    expect(await screen.findByRole('heading', { name: /home/ })).toBeTruthy();
    expect(screen.queryByLabelText('Tunnel token')).toBeNull();
    expect(screen.getByRole('tabpanel').textContent).not.toContain(token);
    expect(screen.getByText(/cannot be shown\s+again/)).toBeTruthy();
  });
  it('says nothing of a session ended elsewhere while its own sign-out is on its way', async () => {
    window.history.replaceState(null, '', '/');
    vi.useFakeTimers({ shouldAdvanceTime: true });
    try {
      const server = signOutHeldBack();
      render(<App />);
      fireEvent.click(await screen.findByRole('button', { name: /Sign out/ }));
      await act(() => vi.advanceTimersByTimeAsync(2 * POLL_INTERVAL_MS));

      expect(server.pollsAfterSignOut()).toBeGreaterThan(0);
      expect(screen.queryByText(SESSION_ENDED)).toBeNull();
    } finally {
      vi.useRealTimers();
    }
  });

  it('reloads at once, showing nothing of the old session, when the browser brings the page back from its cache after its sign-out', async () => {
    window.history.replaceState(null, '', '/');
    vi.useFakeTimers({ shouldAdvanceTime: true });
    const act_environment = (globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT;
    try {
      signOutHeldBack();
      render(<App />);
      expect(await screen.findByRole('button', { name: 'Create tunnel' })).toBeTruthy();
      fireEvent.click(screen.getByRole('button', { name: /Sign out/ }));
      // The browser left for the sign-out page; Back shows this page again as it was, its sign-out on its way for good
      const reload = vi.fn();
      vi.stubGlobal('location', { ...window.location, reload });
      // Outside act, as in a browser: what the page shows right after the event is what the next person sees
      (globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = false;
      window.dispatchEvent(new PageTransitionEvent('pageshow', { persisted: true }));

      expect(reload).toHaveBeenCalledTimes(1);
      expect(screen.queryByRole('button', { name: /Sign out/ })).toBeNull();
      expect(screen.queryByRole('button', { name: 'Create tunnel' })).toBeNull();
      expect(screen.queryByText('alice@example.com')).toBeNull();
      expect(screen.queryByText(SESSION_ENDED)).toBeNull();
    } finally {
      (globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = act_environment;
      vi.unstubAllGlobals();
      vi.useRealTimers();
    }
  });

  it('keeps showing the dashboard, without reloading, when the browser brings the page back from its cache with no sign-out', async () => {
    window.history.replaceState(null, '', '/');
    mockFetch({
      'GET /auth/session': { status: 200, body: { signed_in: true, method: 'oidc', user: 'alice@example.com', tunnel_server: 'ws://h:8443' } },
      'GET /api/tunnels': { status: 200, body: [] },
    });
    render(<App />);
    expect(await screen.findByRole('button', { name: 'Create tunnel' })).toBeTruthy();
    // Left for another site and back, still signed in: the page is shown as it was, and a reload would only lose it
    const reload = vi.fn();
    vi.stubGlobal('location', { ...window.location, reload });
    try {
      act(() => {
        window.dispatchEvent(new PageTransitionEvent('pageshow', { persisted: true }));
      });

      expect(reload).not.toHaveBeenCalled();
      expect(screen.getByRole('button', { name: 'Create tunnel' })).toBeTruthy();
      expect(screen.getByRole('button', { name: /Sign out/ })).toBeTruthy();
      expect(screen.getByText('alice@example.com')).toBeTruthy();
    } finally {
      vi.unstubAllGlobals();
    }
  });
});

/** Signed in with oidc; once the page posts its sign-out, the session is gone but the answer never comes. */
function signOutHeldBack() {
  let signedOut = false;
  let pollsAfterSignOut = 0;
  const answer = (status: number, body: unknown) => Promise.resolve(new Response(JSON.stringify(body),
    { status, headers: { 'Content-Type': 'application/json' } }));
  vi.stubGlobal('fetch', vi.fn((input: RequestInfo | URL, init?: RequestInit) => {
    const call = `${init?.method ?? 'GET'} ${String(input)}`;
    if (call === 'POST /auth/logout') {
      signedOut = true;
      return new Promise<Response>(() => {}); // the server ended the session; its answer is still on its way
    }
    if (call === 'GET /auth/session') {
      return answer(200, { signed_in: true, method: 'oidc', user: 'alice@example.com', tunnel_server: 'ws://h:8443' });
    }
    if (call !== 'GET /api/tunnels') return answer(404, { error: 'not_found', message: 'no mock' });
    if (!signedOut) return answer(200, []);
    pollsAfterSignOut++;
    return answer(401, { error: 'unauthorized', message: 'Sign in first.' });
  }));
  return { pollsAfterSignOut: () => pollsAfterSignOut };
}
