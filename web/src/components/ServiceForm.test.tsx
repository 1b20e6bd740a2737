import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import { ApiError, type ServiceInput } from '../api';
import { ServiceForm, plainMessage } from './ServiceForm';

describe('ServiceForm', () => {
  it('shows the API validation error next to the field it names, in plain words', async () => {
    const user = userEvent.setup();
    const onSubmit = vi.fn().mockRejectedValue(
      new ApiError(409, 'conflict', 'domain taken.example.com with path_prefix / is already used by service 0123456789abcdef', 'domain'),
    );
    render(<ServiceForm onSubmit={onSubmit} onCancel={() => undefined} />);

    await user.type(screen.getByLabelText('Domain'), 'taken.example.com');
    await user.type(screen.getByLabelText('Target'), 'localhost:3000');
    await user.click(screen.getByRole('button', { name: 'Add service' }));

    const domain = screen.getByLabelText('Domain');
    expect(domain.getAttribute('aria-invalid')).toBe('true');
    const describedBy = domain.getAttribute('aria-describedby')!.split(' ');
    const errorText = describedBy.map((id) => document.getElementById(id)?.textContent).join(' ');
    expect(errorText).toContain('Domain taken.example.com with path / is already used by another service of this server.');
    expect(errorText).not.toContain('0123456789abcdef');
    expect(errorText).not.toContain('path_prefix');
    expect(document.activeElement).toBe(domain);
    expect(screen.getByLabelText('Target').getAttribute('aria-invalid')).toBeNull();
  });

  it('words the API\'s access field names as the form does', () => {
    expect(plainMessage('auth: applies to http services only; a tcp service can use ip_allow, ip_deny and rate_limit'))
      .toBe('Sign-in applies to http services only; a tcp service can use allowed addresses, denied addresses and rate limit.');
    expect(plainMessage('rate_limit: per_second is required: a number above 0')).toBe(
      'Rate limit per second is required: a number above 0.');
    expect(plainMessage('authority unknown')).toBe('Authority unknown.');
  });

  it('words allowed_emails and allowed_groups, the names the API uses in its sign-in messages', () => {
    expect(plainMessage('auth: allowed_emails: an entry contains the control or invisible formatting character U+200B'))
      .toBe('Sign-in allowed emails an entry contains the control or invisible formatting character U+200B.');
    expect(plainMessage('auth: allowed_groups: an entry contains the control or invisible formatting character U+202E'))
      .toBe('Sign-in allowed groups an entry contains the control or invisible formatting character U+202E.');
    expect(plainMessage('auth: allow_all cannot be combined with allowed_emails or allowed_groups'))
      .toBe('Sign-in allow every user cannot be combined with allowed emails or allowed groups.');
  });

  it('sends only the fields of a TCP service', async () => {
    const user = userEvent.setup();
    const onSubmit = vi.fn<(input: ServiceInput) => Promise<void>>().mockResolvedValue(undefined);
    render(<ServiceForm onSubmit={onSubmit} onCancel={() => undefined} />);

    await user.click(screen.getByLabelText(/TCP/));
    expect(screen.queryByLabelText('Domain')).toBeNull();
    await user.type(screen.getByLabelText('Listen address'), '0.0.0.0:2222');
    await user.type(screen.getByLabelText('Target'), 'localhost:22');
    await user.click(screen.getByRole('button', { name: 'Add service' }));

    expect(onSubmit).toHaveBeenCalledWith({
      type: 'tcp', listen_addr: '0.0.0.0:2222', target_addr: 'localhost:22', enabled: true,
      health_check: true, ip_allow: [], ip_deny: [], rate_limit: null,
    });
  });

  it('takes port 0 in a TCP listen address, for the server to choose a free port', async () => {
    const user = userEvent.setup();
    const onSubmit = vi.fn<(input: ServiceInput) => Promise<void>>().mockResolvedValue(undefined);
    render(<ServiceForm onSubmit={onSubmit} onCancel={() => undefined} />);

    await user.click(screen.getByLabelText(/TCP/));
    await user.type(screen.getByLabelText('Listen address'), '0.0.0.0:0');
    await user.type(screen.getByLabelText('Target'), 'localhost:22');
    await user.click(screen.getByRole('button', { name: 'Add service' }));

    expect(onSubmit).toHaveBeenCalledWith(expect.objectContaining({ type: 'tcp', listen_addr: '0.0.0.0:0' }));
  });

  it('warns next to the health check of a TCP service that the probe connects to the target, and not for HTTP', async () => {
    const user = userEvent.setup();
    render(<ServiceForm onSubmit={vi.fn()} onCancel={() => undefined} />);
    const note = /opens a connection to the target at every check interval/;

    const healthCheck = screen.getByRole('checkbox', { name: 'Health check' });
    expect(healthCheck).toHaveProperty('checked', true);
    expect(screen.queryByText(note)).toBeNull();

    await user.click(screen.getByLabelText(/TCP/));
    const described = screen.getByRole('checkbox', { name: 'Health check' }).getAttribute('aria-describedby')!;
    expect(document.getElementById(described)?.textContent).toMatch(note);
    expect(screen.getByText(note).textContent).toContain('may take the probe as its client');

    await user.click(screen.getByLabelText(/HTTP/));
    expect(screen.queryByText(note)).toBeNull();
  });

  it('sends the health check switched off, and starts from the edited service\'s setting', async () => {
    const user = userEvent.setup();
    const onSubmit = vi.fn<(input: ServiceInput) => Promise<void>>().mockResolvedValue(undefined);
    const { unmount } = render(<ServiceForm onSubmit={onSubmit} onCancel={() => undefined} />);

    await user.click(screen.getByLabelText(/TCP/));
    await user.type(screen.getByLabelText('Listen address'), '0.0.0.0:5201');
    await user.type(screen.getByLabelText('Target'), 'localhost:5201');
    await user.click(screen.getByRole('checkbox', { name: 'Health check' }));
    await user.click(screen.getByRole('button', { name: 'Add service' }));
    expect(onSubmit).toHaveBeenCalledWith(expect.objectContaining({ type: 'tcp', health_check: false }));
    unmount();

    render(<ServiceForm
      service={{ id: 's1', tunnel_id: 't1', type: 'tcp', listen_addr: '0.0.0.0:5201', target_addr: 'localhost:5201',
        enabled: true, created_at: '2026-11-30T00:00:00Z', health_check: false }}
      onSubmit={onSubmit}
      onCancel={() => undefined}
    />);
    expect(screen.getByRole('checkbox', { name: 'Health check' })).toHaveProperty('checked', false);
  });

  it('shows an error that names no field above the buttons', async () => {
    const user = userEvent.setup();
    const onSubmit = vi.fn().mockRejectedValue(new ApiError(409, 'conflict', 'port 2222 is already in use', null));
    render(<ServiceForm onSubmit={onSubmit} onCancel={() => undefined} />);
    await user.type(screen.getByLabelText('Domain'), 'app.example.com');
    await user.type(screen.getByLabelText('Target'), 'localhost:3000');
    await user.click(screen.getByRole('button', { name: 'Add service' }));
    expect((await screen.findByRole('alert')).textContent).toBe('Port 2222 is already in use.');
  });

  it('shows every wrong field at once, in words, without asking the server', async () => {
    const user = userEvent.setup();
    const onSubmit = vi.fn();
    render(<ServiceForm onSubmit={onSubmit} onCancel={() => undefined} />);
    await user.type(screen.getByLabelText('Domain'), 'not a domain');
    await user.clear(screen.getByLabelText('Path prefix'));
    await user.type(screen.getByLabelText('Path prefix'), 'api');
    await user.type(screen.getByLabelText('Target'), 'localhost');
    await user.click(screen.getByRole('button', { name: 'Add service' }));

    expect(onSubmit).not.toHaveBeenCalled();
    const errorOf = (label: string) => {
      const input = screen.getByLabelText(label);
      expect(input.getAttribute('aria-invalid')).toBe('true');
      return input.getAttribute('aria-describedby')!.split(' ').map((id) => document.getElementById(id)?.textContent).join(' ');
    };
    expect(errorOf('Domain')).toContain('This is not a domain name');
    expect(errorOf('Path prefix')).toContain('The path must start with /');
    expect(errorOf('Target')).toContain('Write the target as host:port');
    expect(document.activeElement).toBe(screen.getByLabelText('Domain'));
    expect((await screen.findByRole('alert')).textContent).toBe('3 fields need a fix.');
  });

  it('refuses an IP address or a wildcard over a top-level domain as the server does, without asking it', async () => {
    const user = userEvent.setup();
    const onSubmit = vi.fn();
    render(<ServiceForm onSubmit={onSubmit} onCancel={() => undefined} />);
    await user.type(screen.getByLabelText('Target'), 'localhost:3000');
    const domain = screen.getByLabelText('Domain');
    const errorOfDomain = () => domain.getAttribute('aria-describedby')!.split(' ')
      .map((id) => document.getElementById(id)?.textContent).join(' ');
    for (const refused of ['1.2.3.4', 'app.123', '7', '*.1.2.3.4', 'app.0x7f', '0x7f000001', 'App.0X7F', 'app.0x']) {
      await user.clear(domain);
      await user.type(domain, refused);
      await user.click(screen.getByRole('button', { name: 'Add service' }));
      expect(domain.getAttribute('aria-invalid')).toBe('true');
      expect(errorOfDomain()).toContain('is read as an IP address');
    }
    await user.clear(domain);
    await user.type(domain, '*.com');
    await user.click(screen.getByRole('button', { name: 'Add service' }));
    expect(errorOfDomain()).toContain('would take every name under \u2068.com\u2069');
    expect(onSubmit).not.toHaveBeenCalled();

    const accepted = ['intranet', '123.example.com', '*.example.com', 'app.example.com', 'app.0xfg', '0x7f.example.com'];
    for (const name of accepted) {
      await user.clear(domain);
      await user.type(domain, name);
      await user.click(screen.getByRole('button', { name: 'Add service' }));
    }
    expect(onSubmit).toHaveBeenCalledTimes(accepted.length);
  });

  it('isolates a right-to-left domain in what it says of it, so the domain does not reorder the words after it', async () => {
    const user = userEvent.setup();
    render(<ServiceForm onSubmit={vi.fn()} onCancel={() => undefined} />);
    await user.type(screen.getByLabelText('Target'), 'localhost:3000');
    const domain = screen.getByLabelText('Domain');
    const errorOfDomain = () => document.getElementById(domain.getAttribute('aria-describedby')!.split(' ')[1])?.textContent;
    await user.type(domain, 'שלום.123');
    await user.click(screen.getByRole('button', { name: 'Add service' }));
    expect(errorOfDomain()).toMatch(/^\u2068שלום\.123\u2069 is read as an IP address/);
    await user.clear(domain);
    await user.type(domain, '*.קום');
    await user.click(screen.getByRole('button', { name: 'Add service' }));
    expect(errorOfDomain()).toMatch(/^\u2068\*\.קום\u2069 would take every name under \u2068\.קום\u2069: /);
  });

  it('sends a domain or target beyond ASCII to the server, which takes it in its xn-- form', async () => {
    const user = userEvent.setup();
    const onSubmit = vi.fn();
    render(<ServiceForm onSubmit={onSubmit} onCancel={() => undefined} />);
    await user.type(screen.getByLabelText('Domain'), '*.bücher.example');
    await user.type(screen.getByLabelText('Target'), 'straße.lan:3000');
    await user.click(screen.getByRole('button', { name: 'Add service' }));

    expect(screen.getByLabelText('Domain').getAttribute('aria-invalid')).toBeNull();
    expect(onSubmit).toHaveBeenCalledWith(expect.objectContaining({
      domain: '*.bücher.example', target_addr: 'straße.lan:3000',
    }));
  });

  it('sends a target with an underscore, as Docker names containers (my_app:8080), which the server takes', async () => {
    const user = userEvent.setup();
    const onSubmit = vi.fn();
    render(<ServiceForm onSubmit={onSubmit} onCancel={() => undefined} />);
    await user.type(screen.getByLabelText('Domain'), 'app.example.com');
    await user.type(screen.getByLabelText('Target'), 'project_web_1:8080');
    await user.click(screen.getByRole('button', { name: 'Add service' }));

    expect(screen.getByLabelText('Target').getAttribute('aria-invalid')).toBeNull();
    expect(onSubmit).toHaveBeenCalledWith(expect.objectContaining({ target_addr: 'project_web_1:8080' }));
  });

  it('keeps a domain stored before the server refused IP addresses editable, as the server does', async () => {
    const user = userEvent.setup();
    const onSubmit = vi.fn().mockResolvedValue(undefined);
    render(
      <ServiceForm
        service={{
          id: 's', tunnel_id: 't', type: 'http', domain: '10.0.0.1', path_prefix: '/', tls_mode: 'terminate',
          listen_addr: null, target_addr: 'localhost:1', enabled: true, created_at: '',
        }}
        onSubmit={onSubmit}
        onCancel={() => undefined}
      />,
    );
    await user.clear(screen.getByLabelText('Target'));
    await user.type(screen.getByLabelText('Target'), 'localhost:2');
    await user.click(screen.getByRole('button', { name: 'Save changes' }));
    expect(onSubmit).toHaveBeenCalledTimes(1);
  });

  it('keeps the type of an existing service fixed', () => {
    render(
      <ServiceForm
        service={{
          id: 's', tunnel_id: 't', type: 'tcp', listen_addr: ':2222', target_addr: 'localhost:22', enabled: true, created_at: '',
        }}
        onSubmit={vi.fn()}
        onCancel={() => undefined}
      />,
    );
    expect(screen.queryByRole('radio')).toBeNull();
    expect(screen.getByText('TCP — by port')).toBeTruthy();
    expect(screen.getByText(/The type cannot change/)).toBeTruthy();
  });

  it('edits a domain and target beyond ASCII in Unicode, and sends them back as stored unless changed', async () => {
    const user = userEvent.setup();
    const onSubmit = vi.fn().mockResolvedValue(undefined);
    const service = {
      id: 's', tunnel_id: 't', type: 'http' as const, domain: 'xn--bcher-kva.example', path_prefix: '/', tls_mode: 'terminate' as const,
      listen_addr: null, target_addr: 'xn--strae-oqa.lan:3000', enabled: true, created_at: '',
    };
    render(<ServiceForm service={service} onSubmit={onSubmit} onCancel={() => undefined} />);
    const domain = screen.getByLabelText('Domain') as HTMLInputElement;
    expect(domain.value).toBe('bücher.example');
    expect((screen.getByLabelText('Target') as HTMLInputElement).value).toBe('straße.lan:3000');
    expect(domain.getAttribute('aria-describedby')!.split(' ').map((id) => document.getElementById(id)?.textContent).join(' '))
      .toContain('Stored as xn--bcher-kva.example.');

    await user.click(screen.getByRole('button', { name: 'Save changes' }));
    expect(onSubmit).toHaveBeenLastCalledWith(expect.objectContaining({
      domain: 'xn--bcher-kva.example', target_addr: 'xn--strae-oqa.lan:3000',
    }));

    await user.clear(domain);
    await user.type(domain, 'shop.bücher.example');
    await user.click(screen.getByRole('button', { name: 'Save changes' }));
    expect(onSubmit).toHaveBeenLastCalledWith(expect.objectContaining({
      domain: 'shop.bücher.example', target_addr: 'xn--strae-oqa.lan:3000',
    }));
  });

  it('starts from the service being edited', () => {
    render(
      <ServiceForm
        service={{
          id: 's', tunnel_id: 't', type: 'http', domain: 'a.example.com', path_prefix: '/api', tls_mode: 'passthrough',
          listen_addr: null, target_addr: 'localhost:1', enabled: false, created_at: '', https_redirect: true,
        }}
        onSubmit={vi.fn()}
        onCancel={() => undefined}
      />,
    );
    expect((screen.getByLabelText('Domain') as HTMLInputElement).value).toBe('a.example.com');
    expect((screen.getByLabelText('Path prefix') as HTMLInputElement).value).toBe('/api');
    expect((screen.getByLabelText('TLS') as HTMLSelectElement).value).toBe('passthrough');
    expect((screen.getByLabelText('Enabled') as HTMLInputElement).checked).toBe(false);
    expect((screen.getByLabelText('Redirect plain HTTP to HTTPS') as HTMLInputElement).checked).toBe(true);
    expect(screen.getByRole('button', { name: 'Save changes' })).toBeTruthy();
  });

  it('sends address lists, a rate limit and a password for an http service', async () => {
    const user = userEvent.setup();
    const onSubmit = vi.fn<(input: ServiceInput) => Promise<void>>().mockResolvedValue(undefined);
    render(<ServiceForm onSubmit={onSubmit} onCancel={() => undefined} />);

    await user.type(screen.getByLabelText('Domain'), 'app.example.com');
    await user.type(screen.getByLabelText('Target'), 'localhost:3000');
    await user.type(screen.getByLabelText('Allowed addresses'), '10.0.0.0/8{enter}2001:db8::/32');
    await user.type(screen.getByLabelText('Denied addresses'), '10.1.2.3');
    await user.type(screen.getByLabelText('Per second'), '5');
    await user.type(screen.getByLabelText('Burst'), '20');
    await user.selectOptions(screen.getByLabelText('Sign-in'), 'basic');
    await user.type(screen.getByLabelText('User name'), 'ops');
    await user.type(screen.getByLabelText('Password'), 'correct horse');
    await user.click(screen.getByRole('button', { name: 'Add service' }));

    expect(onSubmit).toHaveBeenCalledWith(expect.objectContaining({
      ip_allow: ['10.0.0.0/8', '2001:db8::/32'],
      ip_deny: ['10.1.2.3'],
      rate_limit: { per_second: 5, burst: 20 },
      auth: { type: 'basic', username: 'ops', password: 'correct horse' },
    }));
  });

  it('keeps the stored password when an edit leaves it empty, and edits single sign-on lists', async () => {
    const user = userEvent.setup();
    const onSubmit = vi.fn<(input: ServiceInput) => Promise<void>>().mockResolvedValue(undefined);
    render(
      <ServiceForm
        service={{
          id: 's', tunnel_id: 't', type: 'http', domain: 'a.example.com', path_prefix: '/', tls_mode: 'terminate',
          listen_addr: null, target_addr: 'localhost:1', enabled: true, created_at: '',
          auth: { type: 'basic', username: 'ops' }, ip_allow: ['192.0.2.0/24'], ip_deny: [], rate_limit: null,
        }}
        onSubmit={onSubmit}
        onCancel={() => undefined}
      />,
    );
    expect((screen.getByLabelText('Allowed addresses') as HTMLTextAreaElement).value).toBe('192.0.2.0/24');
    expect(screen.getByText('Leave empty to keep the current password.')).toBeTruthy();
    await user.click(screen.getByRole('button', { name: 'Save changes' }));
    expect(onSubmit).toHaveBeenLastCalledWith(expect.objectContaining({ auth: { type: 'basic', username: 'ops' } }));

    await user.selectOptions(screen.getByLabelText('Sign-in'), 'oidc');
    await user.type(screen.getByLabelText('Allowed emails'), 'alice@example.com');
    await user.click(screen.getByRole('button', { name: 'Save changes' }));
    expect(onSubmit).toHaveBeenLastCalledWith(expect.objectContaining({
      auth: { type: 'oidc', allowed_emails: ['alice@example.com'], allowed_groups: [], allow_all: false },
    }));
  });

  it('refuses single sign-on with no list unless every user of the provider is allowed, without asking the server', async () => {
    const user = userEvent.setup();
    const onSubmit = vi.fn<(input: ServiceInput) => Promise<void>>().mockResolvedValue(undefined);
    render(<ServiceForm onSubmit={onSubmit} onCancel={() => undefined} />);
    await user.type(screen.getByLabelText('Domain'), 'app.example.com');
    await user.type(screen.getByLabelText('Target'), 'localhost:3000');
    await user.selectOptions(screen.getByLabelText('Sign-in'), 'oidc');
    const allowAll = screen.getByRole('checkbox', { name: 'Allow every user of the identity provider' });
    expect(allowAll).toHaveProperty('checked', false);
    await user.click(screen.getByRole('button', { name: 'Add service' }));

    expect(onSubmit).not.toHaveBeenCalled();
    const signIn = screen.getByLabelText('Sign-in');
    expect(signIn.getAttribute('aria-invalid')).toBe('true');
    expect(document.getElementById(signIn.getAttribute('aria-describedby')!)?.textContent)
      .toBe('List the emails or groups that may sign in, or tick “Allow every user of the identity provider”.');
    expect(document.activeElement).toBe(signIn);

    // Lists typed before the box is ticked are hidden and not sent: the server refuses allow_all with lists.
    await user.type(screen.getByLabelText('Allowed groups'), 'staff');
    await user.click(allowAll);
    expect(screen.queryByLabelText('Allowed emails')).toBeNull();
    expect(screen.queryByLabelText('Allowed groups')).toBeNull();
    expect(document.getElementById(allowAll.getAttribute('aria-describedby')!)?.textContent).toContain('anyone on the internet');
    await user.click(screen.getByRole('button', { name: 'Add service' }));
    expect(onSubmit).toHaveBeenCalledWith(expect.objectContaining({
      auth: { type: 'oidc', allowed_emails: [], allowed_groups: [], allow_all: true },
    }));
  });

  it('starts from a service open to every user of the provider, and sends a list instead once unticked', async () => {
    const user = userEvent.setup();
    const onSubmit = vi.fn<(input: ServiceInput) => Promise<void>>().mockResolvedValue(undefined);
    render(
      <ServiceForm
        service={{
          id: 's', tunnel_id: 't', type: 'http', domain: 'a.example.com', path_prefix: '/', tls_mode: 'terminate',
          listen_addr: null, target_addr: 'localhost:1', enabled: true, created_at: '',
          auth: { type: 'oidc', allowed_emails: [], allowed_groups: [], allow_all: true },
        }}
        onSubmit={onSubmit}
        onCancel={() => undefined}
      />,
    );
    const allowAll = screen.getByRole('checkbox', { name: 'Allow every user of the identity provider' });
    expect(allowAll).toHaveProperty('checked', true);
    expect(screen.queryByLabelText('Allowed emails')).toBeNull();
    await user.click(screen.getByRole('button', { name: 'Save changes' }));
    expect(onSubmit).toHaveBeenLastCalledWith(expect.objectContaining({
      auth: { type: 'oidc', allowed_emails: [], allowed_groups: [], allow_all: true },
    }));

    await user.click(allowAll);
    await user.type(screen.getByLabelText('Allowed emails'), 'alice@example.com');
    await user.click(screen.getByRole('button', { name: 'Save changes' }));
    expect(onSubmit).toHaveBeenLastCalledWith(expect.objectContaining({
      auth: { type: 'oidc', allowed_emails: ['alice@example.com'], allowed_groups: [], allow_all: false },
    }));
  });

  it('offers passthrough services only an allow list and a rate limit', async () => {
    const user = userEvent.setup();
    const onSubmit = vi.fn<(input: ServiceInput) => Promise<void>>().mockResolvedValue(undefined);
    render(<ServiceForm onSubmit={onSubmit} onCancel={() => undefined} />);

    await user.type(screen.getByLabelText('Domain'), 'tls.example.com');
    await user.type(screen.getByLabelText('Target'), 'localhost:8443');
    await user.selectOptions(screen.getByLabelText('TLS'), 'passthrough');

    expect(screen.getByLabelText('Allowed addresses')).toBeTruthy();
    expect(screen.queryByLabelText('Denied addresses')).toBeNull();
    expect(screen.queryByLabelText('Sign-in')).toBeNull();
    await user.click(screen.getByRole('button', { name: 'Add service' }));
    expect(onSubmit).toHaveBeenCalledWith(expect.objectContaining({ ip_deny: [], auth: { type: 'none' } }));
  });

  it('shows an access error next to the field it names', async () => {
    const user = userEvent.setup();
    const onSubmit = vi.fn().mockRejectedValue(
      new ApiError(400, 'invalid_field', "ip_allow: 'example.com' is not an IPv4 or IPv6 address block", 'ip_allow'),
    );
    render(<ServiceForm onSubmit={onSubmit} onCancel={() => undefined} />);
    await user.type(screen.getByLabelText('Domain'), 'app.example.com');
    await user.type(screen.getByLabelText('Target'), 'localhost:3000');
    await user.type(screen.getByLabelText('Allowed addresses'), 'example.com');
    await user.click(screen.getByRole('button', { name: 'Add service' }));

    const allow = screen.getByLabelText('Allowed addresses');
    expect(allow.getAttribute('aria-invalid')).toBe('true');
    expect(document.activeElement).toBe(allow);
  });
});
