import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import { ApiError, type ServiceInput } from '../api';
import { ServiceForm } from './ServiceForm';

describe('ServiceForm', () => {
  it('shows the API validation error next to the field it names', async () => {
    const user = userEvent.setup();
    const onSubmit = vi.fn().mockRejectedValue(
      new ApiError(400, 'invalid_domain', 'domain "bad_host" is not a valid hostname', 'domain'),
    );
    render(<ServiceForm onSubmit={onSubmit} onCancel={() => undefined} />);

    await user.type(screen.getByLabelText('Domain'), 'bad_host');
    await user.type(screen.getByLabelText('Target'), 'localhost:3000');
    await user.click(screen.getByRole('button', { name: 'Add service' }));

    const domain = screen.getByLabelText('Domain');
    expect(domain.getAttribute('aria-invalid')).toBe('true');
    const describedBy = domain.getAttribute('aria-describedby')!.split(' ');
    const errorText = describedBy.map((id) => document.getElementById(id)?.textContent).join(' ');
    expect(errorText).toContain('is not a valid hostname');
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
    await user.click(screen.getByRole('button', { name: 'Add service' }));
    expect((await screen.findByRole('alert')).textContent).toBe('port 2222 is already in use');
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
