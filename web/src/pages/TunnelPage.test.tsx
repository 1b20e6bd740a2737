import { act, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Router } from '../router';
import { httpService, mockFetch, tunnel, tunnelClient } from '../test/fetchMock';
import { POLL_INTERVAL_MS } from '../usePolling';
import { TunnelPage } from './TunnelPage';

/** The polite live region where the page announces what an action did. */
const notice = () => document.querySelector('.visually-hidden[role="status"]') as HTMLElement;

const renderPage = () => render(<Router><TunnelPage id="a1b2c3d4e5f60718" tunnelServer="ws://h:8443" /></Router>);

describe('TunnelPage', () => {
  afterEach(() => vi.useRealTimers());

  it('says when a refresh fails after the tunnel was shown, and stops saying so once one succeeds', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    let failing = false;
    mockFetch({
      'GET /api/tunnels/a1b2c3d4e5f60718': () => (failing
        ? { status: 500, body: { error: 'internal', message: 'The database is locked.' } }
        : { status: 200, body: tunnel() }),
      'GET /api/tunnels/a1b2c3d4e5f60718/services': { status: 200, body: [] },
    });
    renderPage();
    expect(await screen.findByRole('heading', { name: /home-server/ })).toBeTruthy();

    failing = true;
    await act(async () => {
      await vi.advanceTimersByTimeAsync(POLL_INTERVAL_MS);
    });
    expect((await screen.findByText(/Could not refresh the tunnel/)).textContent).toContain('The database is locked.');
    expect(screen.getByRole('heading', { name: /home-server/ })).toBeTruthy();

    failing = false;
    await act(async () => {
      await vi.advanceTimersByTimeAsync(POLL_INTERVAL_MS);
    });
    expect(screen.queryByText(/Could not refresh the tunnel/)).toBeNull();
  });

  it('lists every connected client of the tunnel', async () => {
    mockFetch({
      'GET /api/tunnels/a1b2c3d4e5f60718': {
        status: 200,
        body: tunnel({
          connected: true,
          connected_since: '2026-01-01T10:00:00.000Z',
          clients: [
            tunnelClient({ hostname: 'replica-1', remote_addr: '198.51.100.1:40001' }),
            tunnelClient({ id: 'ffeeddccbbaa9988', hostname: 'replica-2', remote_addr: '198.51.100.2:40002', version: '0.2.0' }),
          ],
        }),
      },
      'GET /api/tunnels/a1b2c3d4e5f60718/services': { status: 200, body: [] },
    });
    renderPage();

    const section = (await screen.findByRole('heading', { name: 'Clients' })).closest('section') as HTMLElement;
    expect(section.textContent).toContain('2 connected');
    const rows = within(section).getAllByRole('row').slice(1);
    expect(rows.map((r) => within(r).getAllByRole('cell')[2].textContent)).toEqual(['replica-1', 'replica-2']);
    expect(within(rows[1]).getByText('198.51.100.2:40002')).toBeTruthy();
    expect(within(rows[1]).getByText('0.2.0')).toBeTruthy();
  });

  it("isolates the tunnel's name in its title, so that a right-to-left one does not reorder the badge beside it", async () => {
    mockFetch({
      'GET /api/tunnels/a1b2c3d4e5f60718': { status: 200, body: tunnel({ name: 'שרת הבית' }) },
      'GET /api/tunnels/a1b2c3d4e5f60718/services': { status: 200, body: [] },
    });
    renderPage();

    const title = await screen.findByRole('heading', { level: 1 });
    expect(within(title).getByText('שרת הבית').tagName).toBe('BDI');
  });

  it('says no client is connected while the tunnel is offline', async () => {
    mockFetch({
      'GET /api/tunnels/a1b2c3d4e5f60718': { status: 200, body: tunnel() },
      'GET /api/tunnels/a1b2c3d4e5f60718/services': { status: 200, body: [] },
    });
    renderPage();

    const section = (await screen.findByRole('heading', { name: 'Clients' })).closest('section') as HTMLElement;
    expect(section.textContent).toContain('0 connected');
    expect(within(section).queryByRole('table')).toBeNull();
    expect(section.textContent).toContain('No client is connected');
  });

  it('renames the tunnel', async () => {
    const user = userEvent.setup();
    let name = 'home-server';
    const calls = mockFetch({
      'GET /api/tunnels/a1b2c3d4e5f60718': () => ({ status: 200, body: tunnel({ name }) }),
      'GET /api/tunnels/a1b2c3d4e5f60718/services': { status: 200, body: [] },
      'PATCH /api/tunnels/a1b2c3d4e5f60718': (call) => {
        name = (call.body as { name: string }).name;
        return { status: 200, body: tunnel({ name }) };
      },
    });
    renderPage();
    await user.click(await screen.findByRole('button', { name: 'Rename' }));
    const input = screen.getByLabelText('Tunnel name');
    await user.clear(input);
    await user.type(input, 'office{Enter}');
    expect(await screen.findByRole('heading', { name: /office/ })).toBeTruthy();
    expect(calls.find((c) => c.method === 'PATCH')?.body).toEqual({ name: 'office' });
    expect(notice().textContent).toBe('Tunnel renamed to office.');
    expect(within(notice()).getByText('office').tagName).toBe('BDI');
  });

  it("isolates the tunnel's name in the title of the dialog that deletes it", async () => {
    const user = userEvent.setup();
    mockFetch({
      'GET /api/tunnels/a1b2c3d4e5f60718': { status: 200, body: tunnel({ name: 'שרת הבית' }) },
      'GET /api/tunnels/a1b2c3d4e5f60718/services': { status: 200, body: [] },
    });
    renderPage();
    await user.click(await screen.findByRole('button', { name: 'Delete tunnel' }));

    const title = within(await screen.findByRole('dialog')).getByRole('heading');
    expect(title.textContent).toBe('Delete tunnel שרת הבית?');
    expect(within(title).getByText('שרת הבית').tagName).toBe('BDI');
  });

  it("says the server's refusal of a new name without the API's field name", async () => {
    const user = userEvent.setup();
    mockFetch({
      'GET /api/tunnels/a1b2c3d4e5f60718': { status: 200, body: tunnel() },
      'GET /api/tunnels/a1b2c3d4e5f60718/services': { status: 200, body: [] },
      'PATCH /api/tunnels/a1b2c3d4e5f60718': {
        status: 400,
        body: { error: 'invalid_field', field: 'name', message: 'name: is longer than 100 characters' },
      },
    });
    renderPage();
    await user.click(await screen.findByRole('button', { name: 'Rename' }));
    await user.type(screen.getByLabelText('Tunnel name'), 'x{Enter}');
    expect(await screen.findByText('The name is longer than 100 characters.')).toBeTruthy();
  });

  it('announces a refused rename to screen readers, as an alert', async () => {
    const user = userEvent.setup();
    mockFetch({
      'GET /api/tunnels/a1b2c3d4e5f60718': { status: 200, body: tunnel() },
      'GET /api/tunnels/a1b2c3d4e5f60718/services': { status: 200, body: [] },
    });
    renderPage();
    await user.click(await screen.findByRole('button', { name: 'Rename' }));
    await user.clear(screen.getByLabelText('Tunnel name'));
    await user.keyboard('{Enter}');
    expect((await screen.findByRole('alert')).textContent).toBe('Enter a name for the tunnel.');
  });

  it('says how many services go with a deleted tunnel in words that fit the number', async () => {
    const user = userEvent.setup();
    const expected: Record<number, string> = {
      0: 'Its clients are disconnected.',
      1: 'Its service is deleted too, and its clients are disconnected.',
      2: 'Its 2 services are deleted too, and its clients are disconnected.',
    };
    for (const count of [0, 1, 2]) {
      mockFetch({
        'GET /api/tunnels/a1b2c3d4e5f60718': { status: 200, body: tunnel() },
        'GET /api/tunnels/a1b2c3d4e5f60718/services': {
          status: 200,
          body: Array.from({ length: count }, (_, i) => httpService({ id: `${i}`.repeat(16), domain: `app${i}.example.com` })),
        },
      });
      const { unmount } = renderPage();
      if (count > 0) expect((await screen.findAllByText('app0.example.com', { exact: false })).length).toBeGreaterThan(0);
      await user.click(await screen.findByRole('button', { name: 'Delete tunnel' }));
      expect(within(await screen.findByRole('dialog')).getByText(expected[count])).toBeTruthy();
      unmount();
    }
  });

  it('puts the tunnel on the public status page and takes it off again', async () => {
    const user = userEvent.setup();
    let shown = false;
    const calls = mockFetch({
      'GET /api/tunnels/a1b2c3d4e5f60718': () => ({ status: 200, body: tunnel({ public_status: shown }) }),
      'GET /api/tunnels/a1b2c3d4e5f60718/services': { status: 200, body: [] },
      'PATCH /api/tunnels/a1b2c3d4e5f60718': (call) => {
        shown = (call.body as { public_status: boolean }).public_status;
        return { status: 200, body: tunnel({ public_status: shown }) };
      },
    });
    renderPage();
    const toggle = await screen.findByRole('switch', { name: 'Show on the public status page' });
    expect((toggle as HTMLInputElement).checked).toBe(false);

    await user.click(toggle);
    await waitFor(() => expect(notice().textContent).toBe('home-server is shown on the public status page.'));
    expect(within(notice()).getByText('home-server').tagName).toBe('BDI');
    expect((screen.getByRole('switch', { name: 'Show on the public status page' }) as HTMLInputElement).checked).toBe(true);
    await user.click(screen.getByRole('switch', { name: 'Show on the public status page' }));
    await waitFor(() => expect(notice().textContent).toBe('home-server is no longer on the public status page.'));
    expect((screen.getByRole('switch', { name: 'Show on the public status page' }) as HTMLInputElement).checked).toBe(false);

    expect(calls.filter((c) => c.method === 'PATCH').map((c) => c.body)).toEqual([{ public_status: true }, { public_status: false }]);
    expect(screen.getByRole('link', { name: 'public status page' }).getAttribute('href')).toBe('/status');
  });
});
