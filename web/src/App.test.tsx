import { render, screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { App } from './App';
import { mockFetch } from './test/fetchMock';

describe('App', () => {
  it('shows the sign-in page when the session has ended', async () => {
    window.history.replaceState(null, '', '/');
    mockFetch({
      'GET /auth/session': { status: 200, body: { signed_in: true, method: 'token', user: 'admin', tunnel_server: 'ws://h:8443' } },
      'GET /api/tunnels': { status: 401, body: { error: 'unauthorized', message: 'Sign in first.' } },
    });
    render(<App />);
    expect(await screen.findByRole('heading', { name: 'Sign in to PicoTunnel' })).toBeTruthy();
    expect(screen.getByLabelText('Admin token')).toBeTruthy();
  });

  it('opens a deep link to a tunnel page', async () => {
    window.history.replaceState(null, '', '/tunnels/a1b2c3d4e5f60718');
    mockFetch({
      'GET /auth/session': { status: 200, body: { signed_in: true, method: 'oidc', user: 'alice@example.com', tunnel_server: 'ws://h:8443' } },
      'GET /api/tunnels/a1b2c3d4e5f60718': {
        status: 200,
        body: { id: 'a1b2c3d4e5f60718', name: 'home', token: 'f'.repeat(64), created_at: '', updated_at: '', connected: false, clients: [] },
      },
      'GET /api/tunnels/a1b2c3d4e5f60718/services': { status: 200, body: [] },
    });
    render(<App />);
    expect(await screen.findByRole('heading', { name: /home/ })).toBeTruthy();
    expect(screen.getByText('alice@example.com')).toBeTruthy();
    expect(screen.getByRole('tabpanel').textContent).toContain('ws://h:8443');
  });
});
