import { vi } from 'vitest';

export interface Call {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: unknown;
}

type Handler = (call: Call) => { status: number; body?: unknown };

/** Replaces fetch with a table of "METHOD /path" answers and records every call. */
export function mockFetch(routes: Record<string, Handler | { status: number; body?: unknown }>) {
  const calls: Call[] = [];
  const fetchMock = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const method = init?.method ?? 'GET';
    const path = typeof input === 'string' ? input : input.toString();
    const headers = (init?.headers ?? {}) as Record<string, string>;
    const call: Call = { method, path, headers, body: init?.body ? JSON.parse(String(init.body)) : undefined };
    calls.push(call);
    const route = routes[`${method} ${path}`];
    if (!route) return new Response(JSON.stringify({ error: 'not_found', message: `no mock for ${method} ${path}` }), { status: 404 });
    const answer = typeof route === 'function' ? route(call) : route;
    if (answer.status === 204) return new Response(null, { status: 204 });
    return new Response(answer.body === undefined ? '' : JSON.stringify(answer.body), {
      status: answer.status,
      headers: { 'Content-Type': 'application/json' },
    });
  });
  vi.stubGlobal('fetch', fetchMock);
  return calls;
}

export const tunnel = (overrides: Record<string, unknown> = {}) => ({
  id: 'a1b2c3d4e5f60718',
  name: 'home-server',
  token: null,
  created_at: '2026-01-01T10:00:00Z',
  updated_at: '2026-01-01T10:00:00Z',
  connected: false,
  connected_since: null,
  last_seen_at: null,
  clients: [],
  ...overrides,
});

export const tunnelClient = (overrides: Record<string, unknown> = {}) => ({
  id: '0a1b2c3d4e5f6071',
  remote_addr: '203.0.113.7:51234',
  version: '0.1.0',
  hostname: 'build-box',
  connected_since: '2026-01-01T10:00:00.000Z',
  ...overrides,
});

export const httpService = (overrides: Record<string, unknown> = {}) => ({
  id: '0011223344556677',
  tunnel_id: 'a1b2c3d4e5f60718',
  type: 'http',
  domain: 'app.example.com',
  path_prefix: '/',
  tls_mode: 'terminate',
  listen_addr: null,
  target_addr: 'localhost:3000',
  enabled: true,
  created_at: '2026-01-01T10:00:00Z',
  ...overrides,
});
