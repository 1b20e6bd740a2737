import { describe, expect, it } from 'vitest';
import { api, ApiError, CSRF_HEADER, fieldOf } from './api';
import { mockFetch } from './test/fetchMock';

describe('api', () => {
  it('sends the CSRF header on writes but not on reads', async () => {
    const calls = mockFetch({
      'GET /api/tunnels': { status: 200, body: [] },
      'POST /api/tunnels': { status: 201, body: { id: 'x' } },
    });
    await api.tunnels();
    await api.createTunnel('n');
    expect(calls[0].headers[CSRF_HEADER]).toBeUndefined();
    expect(calls[1].headers[CSRF_HEADER]).toBe('1');
    expect(calls[1].body).toEqual({ name: 'n' });
  });

  it('turns an error answer into an ApiError naming the field', async () => {
    mockFetch({
      'POST /api/tunnels/t/services': {
        status: 400,
        body: { error: 'invalid_target_addr', message: 'target_addr must be host:port' },
      },
    });
    const error = await api.createService('t', { type: 'tcp', target_addr: 'x', enabled: true }).catch((e) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error.status).toBe(400);
    expect(error.field).toBe('target_addr');
    expect(error.message).toBe('target_addr must be host:port');
  });

  it('prefers an explicit field over the message text', () => {
    expect(fieldOf({ field: 'domain', message: 'target_addr is fine' })).toBe('domain');
    expect(fieldOf({ message: 'malformed JSON' })).toBeNull();
  });
});
