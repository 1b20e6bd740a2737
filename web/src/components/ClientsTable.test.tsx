import { render, screen, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import type { TunnelClient } from '../api';
import { tunnelClient } from '../test/fetchMock';
import { ClientsTable } from './ClientsTable';

describe('ClientsTable', () => {
  it('lists each client with its address, version, hostname and since when', () => {
    const since = new Date(Date.now() - 3 * 60_000).toISOString();
    const clients = [
      tunnelClient({ connected_since: since }),
      tunnelClient({ id: 'ffeeddccbbaa9988', remote_addr: '[2001:db8::1]:40000', version: null, hostname: null }),
    ] as TunnelClient[];

    render(<ClientsTable clients={clients} />);

    const table = screen.getByRole('table', { name: 'Connected clients' });
    const headers = within(table).getAllByRole('columnheader').map((h) => h.textContent);
    expect(headers).toEqual(['Address', 'Version', 'Hostname', 'Connected since']);
    const [, first, second] = within(table).getAllByRole('row');
    const cells = (row: HTMLElement) => within(row).getAllByRole('cell').map((c) => c.textContent);
    expect(cells(first)).toEqual(['203.0.113.7:51234', '0.1.0', 'build-box', '3 minutes ago']);
    expect(within(first).getByText('3 minutes ago').getAttribute('dateTime')).toBe(since);
    expect(cells(second).slice(0, 3)).toEqual(['[2001:db8::1]:40000', '—not reported', '—not reported']);
  });

  it('shows a hostname beyond ASCII in Unicode beside its xn-- form, as the services table does', () => {
    render(<ClientsTable clients={[tunnelClient({ hostname: 'xn--bcher-kva.example' })] as TunnelClient[]} />);

    const cell = within(screen.getByRole('table')).getAllByRole('cell')[2];
    expect(within(cell).getByText('bücher.example').getAttribute('title')).toBe('xn--bcher-kva.example');
    expect(within(cell).getByText('xn--bcher-kva.example')).toBeTruthy();
  });

  it('isolates a right-to-left hostname and version so that they do not reorder the text around them', () => {
    render(<ClientsTable clients={[tunnelClient({ hostname: 'שרת-1', version: 'גרסה 2' })] as TunnelClient[]} />);

    const [, version, hostname] = within(screen.getByRole('table')).getAllByRole('cell');
    expect(within(hostname).getByText('שרת-1').tagName).toBe('BDI');
    expect(within(version).getByText('גרסה 2').tagName).toBe('BDI');
  });

  it('says so when no client is connected', () => {
    render(<ClientsTable clients={[]} />);

    expect(screen.queryByRole('table')).toBeNull();
    expect(screen.getByText(/No client is connected/)).toBeTruthy();
  });
});
