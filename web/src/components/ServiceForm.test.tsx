import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import { ApiError, type ServiceInput } from '../api';
import { ServiceForm } from './ServiceForm';

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

  it('sends only the fields of a TCP service', async () => {
    const user = userEvent.setup();
    const onSubmit = vi.fn<(input: ServiceInput) => Promise<void>>().mockResolvedValue(undefined);
    render(<ServiceForm onSubmit={onSubmit} onCancel={() => undefined} />);

    await user.click(screen.getByLabelText(/TCP/));
    expect(screen.queryByLabelText('Domain')).toBeNull();
    await user.type(screen.getByLabelText('Listen address'), '0.0.0.0:2222');
    await user.type(screen.getByLabelText('Target'), 'localhost:22');
    await user.click(screen.getByRole('button', { name: 'Add service' }));

    expect(onSubmit).toHaveBeenCalledWith({ type: 'tcp', listen_addr: '0.0.0.0:2222', target_addr: 'localhost:22', enabled: true });
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
});
