import { render, screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { App } from './App';
import { matchRoute } from './router';
import { mockFetch } from './test/fetchMock';

describe('matchRoute', () => {
  it('decodes the tunnel id of the path', () => {
    expect(matchRoute('/tunnels/a1b2c3d4e5f60718')).toEqual({ page: 'tunnel', id: 'a1b2c3d4e5f60718' });
    expect(matchRoute('/tunnels/caf%C3%A9/')).toEqual({ page: 'tunnel', id: 'café' });
  });

  it('answers not found for a segment that is no valid percent-encoded UTF-8, instead of throwing', () => {
    for (const path of ['/tunnels/%E0', '/tunnels/%', '/tunnels/%C0%AF', '/tunnels/%ZZ', '/tunnels/%ED%A0%80']) {
      expect(matchRoute(path), path).toEqual({ page: 'not-found' });
    }
  });
});

describe('App at a path that cannot be decoded', () => {
  it('shows the not-found page', async () => {
    window.history.replaceState(null, '', '/tunnels/%E0');
    mockFetch({
      'GET /auth/session': { status: 200, body: { signed_in: true, method: 'token', user: 'admin', tunnel_server: 'ws://h:8443' } },
    });
    render(<App />);
    expect(await screen.findByRole('heading', { name: 'Page not found' })).toBeTruthy();
    expect(screen.getByRole('link', { name: 'Go to tunnels' })).toBeTruthy();
  });
});
