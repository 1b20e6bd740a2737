import { render, screen, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { App } from '../App';
import { mockFetch } from '../test/fetchMock';

const minutesAgo = (minutes: number) => new Date(Date.now() - minutes * 60_000).toISOString();

const openStatus = () => {
  window.history.pushState(null, '', '/status');
  return render(<App />);
};

describe('StatusPage', () => {
  it('says there is no public status yet when no tunnel is public, without asking for a session', async () => {
    const calls = mockFetch({ 'GET /api/status': { status: 200, body: [] } });
    openStatus();
    expect(await screen.findByRole('heading', { name: 'No public status yet' })).toBeTruthy();
    expect(calls.map((c) => `${c.method} ${c.path}`)).toEqual(['GET /api/status']);
    expect(screen.queryByLabelText('Admin token')).toBeNull();
    expect(screen.queryByRole('button', { name: /Sign out/ })).toBeNull();
  });

  it("isolates each tunnel's and service's name, so that a right-to-left one does not reorder the text around it", async () => {
    mockFetch({
      'GET /api/status': {
        status: 200,
        body: [{
          name: 'שרת הבית', status: 'up', since: minutesAgo(30), uptime_24h: 100, uptime_7d: 100, uptime_30d: 100,
          heartbeats: [],
          services: [
            { name: 'xn--4dbrk0ce.example/api', type: 'http', status: 'up', since: null, uptime_24h: 100, uptime_7d: 100, uptime_30d: 100 },
          ],
        }],
      },
    });
    openStatus();
    const list = await screen.findByRole('list', { name: 'Public status' });
    expect(within(list).getByRole('heading', { name: 'שרת הבית' }).firstElementChild?.tagName).toBe('BDI');
    const service = within(list).getByRole('rowheader');
    expect(service.firstElementChild?.tagName).toBe('BDI');
    expect(service.textContent).toBe('ישראל.example/api');
  });

  it('shows each public tunnel with its heartbeat bars, uptime and services, and no reason for a down check', async () => {
    mockFetch({
      'GET /api/status': {
        status: 200,
        body: [{
          name: 'home-server', status: 'up', since: minutesAgo(30), uptime_24h: 99.5, uptime_7d: 98, uptime_30d: null,
          heartbeats: [
            { status: 'up', time: minutesAgo(1), latency_ms: 4 },
            { status: 'down', time: minutesAgo(2), latency_ms: null },
          ],
          services: [
            { name: 'app.example.com', type: 'http', status: 'down', since: minutesAgo(5), uptime_24h: 50, uptime_7d: 50, uptime_30d: 50 },
            { name: 'port 2222', type: 'tcp', status: null, since: null, uptime_24h: null, uptime_7d: null, uptime_30d: null },
            { name: 'xn--bcher-kva.example/api', type: 'http', status: 'up', since: null, uptime_24h: 100, uptime_7d: 100, uptime_30d: 100 },
          ],
        }],
      },
    });
    openStatus();
    const list = await screen.findByRole('list', { name: 'Public status' });
    const card = within(list).getAllByRole('listitem')[0];
    expect(within(card).getByRole('heading', { name: 'home-server' })).toBeTruthy();
    expect(card.textContent).toContain('Up since 30 minutes ago');
    const bars = within(card).getByRole('img', { name: 'Checks of \u2068home-server\u2069: 1 of the last 2 checks up' });
    expect(bars.querySelectorAll('.beat-up')).toHaveLength(1);
    expect(bars.querySelector('.beat-down')?.getAttribute('title')).toMatch(/: down, \u2068not reachable\u2069$/);
    expect(bars.querySelectorAll('.beat-empty')).toHaveLength(48);
    expect(card.textContent).toContain('Uptime 24 h99.5 %');
    expect(card.textContent).toContain('Uptime 30 d–');
    const rows = within(card).getAllByRole('row').slice(1);
    expect(rows[0].textContent).toContain('app.example.com');
    expect(rows[0].textContent).toContain('Down since 5 minutes ago');
    expect(rows[1].textContent).toContain('port 2222');
    expect(rows[1].textContent).toContain('No data yet');
    expect(rows[2].textContent).toContain('bücher.example/api');
    expect(within(rows[2]).getByText('bücher.example').getAttribute('title')).toBe('xn--bcher-kva.example');
  });
});
