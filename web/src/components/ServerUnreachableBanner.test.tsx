import { act, render, screen } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { api, reportReachable } from '../api';
import { ServerUnreachableBanner } from './ServerUnreachableBanner';
import { StatusBadge } from './StatusBadge';

describe('ServerUnreachableBanner', () => {
  afterEach(() => {
    act(() => reportReachable(true));
    vi.unstubAllGlobals();
  });

  it('appears when a request cannot reach the server, and the stale state turns unknown', async () => {
    render(<><ServerUnreachableBanner /><StatusBadge connected={true} /></>);
    expect(screen.queryByRole('alert')).toBeNull();
    expect(screen.getByText('Connected')).toBeTruthy();

    vi.stubGlobal('fetch', vi.fn(async () => { throw new TypeError('Failed to fetch'); }));
    await act(async () => { await api.tunnels().catch(() => undefined); });

    expect(screen.getByRole('alert').textContent).toContain('The PicoTunnel server cannot be reached.');
    expect(screen.queryByText('Connected')).toBeNull();
    expect(screen.getByText('Unknown')).toBeTruthy();
  });

  it('goes away once the server answers again', async () => {
    render(<ServerUnreachableBanner />);
    act(() => reportReachable(false));
    expect(screen.getByRole('alert')).toBeTruthy();

    vi.stubGlobal('fetch', vi.fn(async () => new Response('[]', { status: 200 })));
    await act(async () => { await api.tunnels(); });

    expect(screen.queryByRole('alert')).toBeNull();
  });

  it('counts a gateway error of a proxy in front as unreachable', async () => {
    render(<ServerUnreachableBanner />);
    vi.stubGlobal('fetch', vi.fn(async () => new Response('bad gateway', { status: 502 })));
    await act(async () => { await api.tunnels().catch(() => undefined); });
    expect(screen.getByRole('alert')).toBeTruthy();
  });
});
