import { act, render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Router } from '../router';
import { httpService, mockFetch, tunnel } from '../test/fetchMock';
import { POLL_INTERVAL_MS } from '../usePolling';
import { Dashboard } from './Dashboard';

const renderDashboard = () => render(<Router><Dashboard /></Router>);

describe('Dashboard', () => {
  afterEach(() => vi.useRealTimers());

  it('explains the first step when there is no tunnel', async () => {
    mockFetch({ 'GET /api/tunnels': { status: 200, body: [] } });
    renderDashboard();
    expect(await screen.findByRole('heading', { name: 'Create your first tunnel' })).toBeTruthy();
    expect(screen.getByRole('button', { name: 'Create tunnel' })).toBeTruthy();
  });

  it("says the server's refusal of a name in the dialog's words, without the API's field name", async () => {
    mockFetch({
      'GET /api/tunnels': { status: 200, body: [] },
      'POST /api/tunnels': {
        status: 400,
        body: { error: 'invalid_field', field: 'name', message: 'name: is required, for example "my-app"' },
      },
    });
    renderDashboard();
    await userEvent.click(await screen.findByRole('button', { name: 'Create tunnel' }));
    const dialog = await screen.findByRole('dialog');
    await userEvent.click(within(dialog).getByRole('button', { name: 'Create tunnel' }));
    expect((await within(dialog).findByRole('alert')).textContent).toBe('The name is required, for example "my-app".');
  });

  it("isolates each tunnel's name, so that a right-to-left one does not reorder the text around it", async () => {
    mockFetch({
      'GET /api/tunnels': { status: 200, body: [tunnel({ id: 'a1b2c3d4e5f60718', name: 'שרת הבית' })] },
      'GET /api/services': { status: 200, body: [] },
      'GET /api/checks?limit=30': {
        status: 200,
        body: [{ id: 1, tunnel_id: 'a1b2c3d4e5f60718', service_id: null, status: 'up', latency_ms: 3, error: null,
          created_at: new Date().toISOString() }],
      },
    });
    renderDashboard();
    const list = await screen.findByRole('list', { name: 'Tunnels' });
    expect(within(list).getByText('שרת הבית').tagName).toBe('BDI');
    // The bars' label is a string (aria-label): the name goes between FSI and PDI there.
    expect(await within(list).findByRole('img', { name: 'Checks of \u2068שרת הבית\u2069: 1 of the last 1 checks up' }))
      .toBeTruthy();
  });

  it('lists tunnels with status, service count and presence', async () => {
    const since = new Date(Date.now() - 5 * 60_000).toISOString();
    mockFetch({
      'GET /api/tunnels': {
        status: 200,
        body: [tunnel({ connected: true, connected_since: since }), tunnel({ id: 'b'.repeat(16), name: 'office' })],
      },
      'GET /api/services': {
        status: 200,
        body: [httpService(), httpService({ id: '2', type: 'tcp', listen_addr: '0.0.0.0:2222' })],
      },
    });
    renderDashboard();
    const list = await screen.findByRole('list', { name: 'Tunnels' });
    const [home, office] = within(list).getAllByRole('listitem');
    expect(within(home).getByRole('link', { name: 'home-server' }).getAttribute('href')).toBe('/tunnels/a1b2c3d4e5f60718');
    expect(home.textContent).toContain('Connected');
    expect(home.textContent).toContain('2 services (1 HTTP, 1 TCP)');
    expect(home.textContent).toContain('Connected since 5 minutes ago');
    expect(office.textContent).toContain('Offline');
    expect(office.textContent).toContain('No services');
    expect(office.textContent).toContain('No client has connected yet');
    expect(screen.getByText('1 of 2 connected')).toBeTruthy();
    expect(screen.getByRole('link', { name: 'Public status page' }).getAttribute('href')).toBe('/status');
  });

  it("loads every tunnel's services and heartbeats in one request each, however many tunnels there are", async () => {
    const ids = Array.from({ length: 40 }, (_, i) => i.toString(16).padStart(16, '0'));
    const calls = mockFetch({
      'GET /api/tunnels': { status: 200, body: ids.map((id, i) => tunnel({ id, name: `t${i}` })) },
      'GET /api/services': { status: 200, body: [httpService({ tunnel_id: ids[39] })] },
      'GET /api/checks?limit=30': {
        status: 200,
        body: [{ id: 1, tunnel_id: ids[39], service_id: null, status: 'up', latency_ms: 3, error: null,
          created_at: new Date().toISOString() }],
      },
    });
    renderDashboard();
    const list = await screen.findByRole('list', { name: 'Tunnels' });
    const rows = within(list).getAllByRole('listitem');
    expect(rows).toHaveLength(40);
    expect(rows[39].textContent).toContain('1 service (1 HTTP)');
    expect(rows[0].textContent).toContain('No services');
    expect(calls.map((c) => `${c.method} ${c.path}`).sort())
      .toEqual(['GET /api/checks?limit=30', 'GET /api/services', 'GET /api/tunnels']);
  });

  it('shows a status change without reload', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    let connected = false;
    mockFetch({
      'GET /api/tunnels': () => ({ status: 200, body: [tunnel({ connected, connected_since: connected ? new Date().toISOString() : null })] }),
      'GET /api/services': { status: 200, body: [] },
    });
    renderDashboard();
    expect(await screen.findByText('Offline')).toBeTruthy();
    connected = true;
    await act(async () => {
      await vi.advanceTimersByTimeAsync(POLL_INTERVAL_MS);
    });
    expect(await screen.findByText('Connected', { selector: '.badge' })).toBeTruthy();
    expect(POLL_INTERVAL_MS).toBeLessThanOrEqual(5000);
  });

  it('says when a refresh fails after the list was shown', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    let failing = false;
    mockFetch({
      'GET /api/tunnels': () => (failing
        ? { status: 500, body: { error: 'internal', message: 'The database is locked.' } }
        : { status: 200, body: [tunnel()] }),
      'GET /api/services': { status: 200, body: [] },
    });
    renderDashboard();
    expect(await screen.findByRole('link', { name: 'home-server' })).toBeTruthy();
    failing = true;
    await act(async () => {
      await vi.advanceTimersByTimeAsync(POLL_INTERVAL_MS);
    });
    expect((await screen.findByText(/Could not refresh the tunnels/)).textContent).toContain('The database is locked.');
  });
});
