import { render, screen, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { httpService, mockFetch } from '../test/fetchMock';
import { formatBytes, MonitoringPanel } from './MonitoringPanel';

const id = 'a1b2c3d4e5f60718';

describe('MonitoringPanel', () => {
  it('shows uptime, the heartbeat, traffic per service and the events', async () => {
    const service = httpService({ bytes_in: 1500, bytes_out: 2_500_000, active_connections: 1, total_connections: 7,
      requests: { '1xx': 0, '2xx': 6, '3xx': 0, '4xx': 1, '5xx': 0 } });
    mockFetch({
      [`GET /api/tunnels/${id}/stats`]: { status: 200, body: {
        tunnel_id: id, status: 'up', since: '2026-01-01T10:00:00.000Z', uptime_24h: 99.5, uptime_7d: 98, uptime_30d: null,
        avg_latency_ms_24h: 3.5, avg_latency_ms_7d: 3, avg_latency_ms_30d: null,
        services: [{ service_id: service.id, status: 'up', since: null, uptime_24h: 100, uptime_7d: null, uptime_30d: null,
          avg_latency_ms_24h: 5, avg_latency_ms_7d: null, avg_latency_ms_30d: null }] } },
      [`GET /api/tunnels/${id}/checks?limit=60`]: { status: 200, body: [
        { id: 2, tunnel_id: id, service_id: null, status: 'up', latency_ms: 4, error: null, created_at: '2026-01-01T10:01:00.000Z' },
        { id: 1, tunnel_id: id, service_id: null, status: 'up', latency_ms: 3, error: null, created_at: '2026-01-01T10:00:00.000Z' }] },
      [`GET /api/tunnels/${id}/events?limit=20`]: { status: 200, body: [
        { id: 1, tunnel_id: id, service_id: null, type: 'client_connected', message: 'Client 0a1b connected from 203.0.113.7:5123',
          created_at: '2026-01-01T10:00:00.000Z' }] },
    });
    render(<MonitoringPanel tunnelId={id} services={[service as never]} />);

    expect(await screen.findByText('99.5 %')).toBeTruthy();
    expect(screen.getByText('3.5 ms')).toBeTruthy();
    expect(screen.getByRole('img', { name: 'Tunnel checks: 2 of the last 2 checks up' })).toBeTruthy();
    expect(screen.getByRole('img', { name: /Latency of the last 2 checks/ })).toBeTruthy();
    const traffic = screen.getByRole('table');
    const row = within(traffic).getAllByRole('row')[1];
    expect(row.textContent).toContain('1.5 kB');
    expect(row.textContent).toContain('2.5 MB');
    expect(row.textContent).toContain('(6 2xx, 1 4xx, 0 5xx)');
    expect(row.textContent).toContain('100 %');
    expect(within(screen.getByRole('list', { name: 'Events' })).getByText(/connected from 203.0.113.7/)).toBeTruthy();
  });

  it("isolates the version and host name a client sent in its events, so that a right-to-left one does not reorder the text after it", async () => {
    mockFetch({
      [`GET /api/tunnels/${id}/stats`]: { status: 404, body: { error: 'not_found', message: 'none' } },
      [`GET /api/tunnels/${id}/checks?limit=60`]: { status: 200, body: [] },
      [`GET /api/tunnels/${id}/events?limit=20`]: { status: 200, body: [
        { id: 2, tunnel_id: id, service_id: null, type: 'client_left',
          message: 'Client 0a1b from 203.0.113.7:5123 (version גרסה 2) left', created_at: '2026-01-01T10:05:00.000Z' },
        { id: 1, tunnel_id: id, service_id: null, type: 'client_connected',
          message: 'Client 0a1b connected from 203.0.113.7:5123 (version 0.2.0, host שרת הבית)',
          created_at: '2026-01-01T10:00:00.000Z' }] },
    });
    render(<MonitoringPanel tunnelId={id} services={[]} />);

    const events = await screen.findByRole('list', { name: 'Events' });
    const [left, connected] = within(events).getAllByRole('listitem');
    expect(within(connected).getByText('שרת הבית').tagName).toBe('BDI');
    expect(within(connected).getByText('0.2.0').tagName).toBe('BDI');
    expect(connected.textContent).toContain('Client 0a1b connected from 203.0.113.7:5123 (version 0.2.0, host שרת הבית)');
    expect(within(left).getByText('גרסה 2').tagName).toBe('BDI');
    expect(left.textContent).toContain('Client 0a1b from 203.0.113.7:5123 (version גרסה 2) left');
  });

  it("reads a client's version and host from the event's fields, so that a version naming a host is not taken for the host", async () => {
    mockFetch({
      [`GET /api/tunnels/${id}/stats`]: { status: 404, body: { error: 'not_found', message: 'none' } },
      [`GET /api/tunnels/${id}/checks?limit=60`]: { status: 200, body: [] },
      [`GET /api/tunnels/${id}/events?limit=20`]: { status: 200, body: [
        { id: 2, tunnel_id: id, service_id: null, type: 'client_left',
          message: 'Client 0c2d from [::1]:5124 (version unknown) left', created_at: '2026-01-01T10:05:00.000Z',
          client: { id: '0c2d', remote_addr: '[::1]:5124', version: null, hostname: null } },
        { id: 1, tunnel_id: id, service_id: null, type: 'client_connected',
          message: 'Client 0a1b connected from 203.0.113.7:5123 (version 1.0, host forged, host שרת)',
          created_at: '2026-01-01T10:00:00.000Z',
          client: { id: '0a1b', remote_addr: '203.0.113.7:5123', version: '1.0, host forged', hostname: 'שרת' } }] },
    });
    render(<MonitoringPanel tunnelId={id} services={[]} />);

    const events = await screen.findByRole('list', { name: 'Events' });
    const [left, connected] = within(events).getAllByRole('listitem');
    expect(within(connected).getByText('1.0, host forged').tagName).toBe('BDI');
    expect(within(connected).getByText('שרת').tagName).toBe('BDI');
    expect(connected.textContent).toContain('Client 0a1b connected from 203.0.113.7:5123 (version 1.0, host forged, host שרת)');
    expect(within(left).getByText('unknown').tagName).toBe('BDI');
    expect(left.textContent).toContain('Client 0c2d from [::1]:5124 (version unknown) left');
  });

  it('formats byte counts', () => {
    expect(formatBytes(999)).toBe('999 B');
    expect(formatBytes(12_345)).toBe('12 kB');
    expect(formatBytes(3_400_000_000)).toBe('3.4 GB');
    expect(formatBytes(undefined)).toBe('0 B');
  });
});
