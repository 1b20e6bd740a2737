import { render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import type { ServerInfo, Service } from '../api';
import { httpService } from '../test/fetchMock';
import { ServicesTable } from './ServicesTable';

/** A tcp service listening on port 2222 of every address, for localhost:22; {@code overrides} as httpService's. */
const tcpService = (overrides: Record<string, unknown> = {}) => httpService({ id: '4', type: 'tcp', domain: null,
  path_prefix: null, tls_mode: null, listen_addr: '0.0.0.0:2222', target_addr: 'localhost:22', ...overrides });

/** What a server whose public name is {@code host} says of itself. */
const serverInfo = (host: string): ServerInfo => ({
  tunnel_server: `${host}:8443`, domain: host, public_host: host,
  http_port: 80, https_port: 443, image_prefix: '', version: '0.1.0',
});

/** Renders the table of {@code list} with handlers that do nothing; answers its rows, the header left out. */
function renderRows(list: Service[], info?: ServerInfo) {
  render(<ServicesTable services={list} serverInfo={info} busyIds={new Set()} onToggle={vi.fn()} onEdit={vi.fn()} onDelete={vi.fn()} />);
  return screen.getAllByRole('row').slice(1);
}

const services = [
  httpService({ cert_status: 'valid', cert_expires_at: '2027-02-01T00:00:00Z', https_redirect: true }),
  httpService({ id: '2', domain: 'broken.example.com', cert_status: 'error', cert_error: 'DNS for broken.example.com does not point here' }),
  httpService({ id: '3', domain: 'pass.example.com', tls_mode: 'passthrough', cert_status: null }),
  tcpService({ enabled: false }),
] as Service[];

describe('ServicesTable', () => {
  it('shows each service with its certificate status where the server holds one', () => {
    const rows = renderRows(services);
    expect(rows).toHaveLength(4);
    expect(within(rows[0]).getByText('Valid')).toBeTruthy();
    expect(rows[0].textContent).toContain('HTTP → HTTPS');
    expect(within(rows[1]).getByText('Error')).toBeTruthy();
    expect(rows[1].textContent).toContain('does not point here');
    expect(rows[2].textContent).toContain('not applicable');
    expect(rows[3].textContent).toContain('0.0.0.0:2222');
    expect(rows[3].textContent).toContain('not applicable');
  });

  it('toggles a service with its switch', async () => {
    const user = userEvent.setup();
    const onToggle = vi.fn();
    render(<ServicesTable services={services} busyIds={new Set()} onToggle={onToggle} onEdit={vi.fn()} onDelete={vi.fn()} />);
    const tcpSwitch = screen.getByRole('switch', { name: 'Enabled: \u20680.0.0.0:2222\u2069' });
    expect((tcpSwitch as HTMLInputElement).checked).toBe(false);
    await user.click(tcpSwitch);
    expect(onToggle).toHaveBeenCalledWith(services[3], true);
  });

  it('names what stands in front of a service', () => {
    const guarded = [
      httpService({ id: '5', domain: 'sso.example.com',
        auth: { type: 'oidc', allowed_emails: ['a@example.com'], allowed_groups: [], allow_all: false } }),
      httpService({ id: '7', domain: 'all.example.com', auth: { type: 'oidc', allowed_emails: [], allowed_groups: [], allow_all: true } }),
      httpService({ id: '6', domain: 'pw.example.com', auth: { type: 'basic', username: 'ops' }, ip_allow: ['10.0.0.0/8'],
        rate_limit: { per_second: 5, burst: 10 } }),
    ] as Service[];
    const rows = renderRows(guarded);
    expect(rows[0].textContent).toContain('Single sign-on');
    expect(rows[0].textContent).not.toContain('every user');
    expect(rows[1].textContent).toContain('Single sign-on: every user');
    expect(rows[2].textContent).toContain('Password');
    expect(rows[2].textContent).toContain('IP rules');
    expect(rows[2].textContent).toContain('≤ 5/s');
  });

  it('shows where visitors reach each service, with a link and a copy button', () => {
    const info = serverInfo('tunnel.example.com');
    const list = [
      httpService({ cert_status: 'valid', path_prefix: '/api' }),
      httpService({ id: '2', domain: 'new.example.com', cert_status: 'pending' }),
      tcpService(),
    ] as Service[];
    const rows = renderRows(list, info);
    const https = within(rows[0]).getByRole('link');
    expect(https.getAttribute('href')).toBe(`https://${list[0].domain}/api`);
    expect(within(rows[0]).getByRole('button', { name: `Copy address \u2068https://${list[0].domain}/api\u2069` })).toBeTruthy();
    expect(within(rows[1]).getByRole('link').getAttribute('href')).toBe('http://new.example.com/');
    expect(within(rows[2]).queryByRole('link')).toBeNull();
    expect(within(rows[2]).getByRole('button', { name: 'Copy address \u2068tunnel.example.com:2222\u2069' })).toBeTruthy();
  });

  it('isolates the public address beside its copy button, so a right-to-left name in it keeps its own order', () => {
    const info = serverInfo('xn--9dbne9b.example');
    const list = [
      httpService({ domain: 'xn--9dbne9b.example', cert_status: 'valid' }),
      tcpService(),
    ] as Service[];
    const rows = renderRows(list, info);
    const link = within(rows[0]).getByRole('link');
    expect(link.getAttribute('href')).toBe('https://xn--9dbne9b.example/');
    expect(link.querySelector('bdi')?.textContent).toBe('https://שלום.example/');
    const tcpAddress = within(rows[1]).getByText('שלום.example:2222');
    expect(tcpAddress.tagName).toBe('BDI');
    expect(tcpAddress.closest('.public-address')).not.toBeNull();
  });

  it('shows an enabled service the server cannot serve in red with the reason', () => {
    const list = [
      tcpService({ active: false, error: 'cannot listen on 0.0.0.0:2222: Address already in use' }),
      httpService({ id: '5', enabled: false, active: false, error: null }),
    ] as Service[];
    const rows = renderRows(list);
    expect(rows[0].className).toContain('row-failed');
    expect(rows[0].textContent).toContain('Not active');
    expect(rows[0].textContent).toContain('cannot listen on 0.0.0.0:2222: Address already in use');
    expect(rows[1].className).not.toContain('row-failed');
    expect(rows[1].textContent).not.toContain('Not active');
  });

  it('shows a domain and target beyond ASCII in Unicode beside their xn-- form, and links and copies the xn-- form', () => {
    const info = serverInfo('tunnel.example.com');
    const list = [
      httpService({ domain: 'xn--bcher-kva.example', target_addr: 'xn--strae-oqa.lan:3000', cert_status: 'error',
        cert_error: 'DNS for xn--bcher-kva.example does not point here' }),
      httpService({ id: '2', domain: 'xn--ggle-55da.example', cert_status: 'valid' }),
    ] as Service[];
    const rows = renderRows(list, info);

    // the domain, and the domain within the certificate's error
    const shown = within(rows[0]).getAllByText('bücher.example');
    expect(shown.map((name) => name.getAttribute('title'))).toEqual(['xn--bcher-kva.example', 'xn--bcher-kva.example']);
    expect(within(rows[0]).getByText('xn--bcher-kva.example')).toBeTruthy();
    const link = within(rows[0]).getByRole('link');
    expect(link.textContent).toBe('http://bücher.example/');
    expect(link.getAttribute('href')).toBe('http://xn--bcher-kva.example/');
    expect(link.getAttribute('title')).toBe('http://xn--bcher-kva.example/');
    expect(within(rows[0]).getByRole('button', { name: 'Copy address \u2068http://xn--bcher-kva.example/\u2069' })).toBeTruthy();
    expect(within(rows[0]).getByRole('button', { name: 'Edit \u2068bücher.example\u2069' })).toBeTruthy();
    expect(rows[0].textContent).toContain('DNS for bücher.example does not point here');
    expect(within(rows[0]).getByText('straße.lan').getAttribute('title')).toBe('xn--strae-oqa.lan');

    // gооgle with two Cyrillic о: could pass for another name, so it stays in the form that shows it is not
    expect(rows[1].textContent).toContain('xn--ggle-55da.example');
    expect(rows[1].textContent).not.toContain('g\u043e\u043egle');
    expect(within(rows[1]).getByRole('link').textContent).toBe('https://xn--ggle-55da.example/');
  });
});
