import { render, screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import type { Check } from '../api';
import { HeartbeatBar } from './HeartbeatBar';

const check = (id: number, status: 'up' | 'down', overrides: Partial<Check> = {}): Check => ({
  id,
  tunnel_id: 'a1b2c3d4e5f60718',
  service_id: null,
  status,
  latency_ms: status === 'up' ? 12 : null,
  error: status === 'down' ? 'no client connected' : null,
  created_at: `2026-01-01T10:0${id}:00.000Z`,
  ...overrides,
});

describe('HeartbeatBar', () => {
  it('draws the checks oldest first with a tooltip of time and latency or error', () => {
    // The API gives the newest first.
    render(<HeartbeatBar checks={[check(3, 'up'), check(2, 'down'), check(1, 'up')]} slots={5} label="Tunnel checks" />);
    const bar = screen.getByRole('img', { name: 'Tunnel checks: 2 of the last 3 checks up' });
    const beats = Array.from(bar.querySelectorAll('.beat'));
    expect(beats.map((b) => b.className)).toEqual(['beat beat-empty', 'beat beat-empty', 'beat beat-up', 'beat beat-down', 'beat beat-up']);
    expect(beats[2].getAttribute('title')).toMatch(/: up, 12 ms$/);
    expect(beats[3].getAttribute('title')).toMatch(/: down, \u2068no client connected\u2069$/);
  });

  it('isolates the reason a check failed, which may name a right-to-left host, from the time before it', () => {
    const reason = 'cannot connect to שלום.lan:80';
    render(<HeartbeatBar checks={[check(2, 'down', { error: reason }), check(1, 'down', { error: null })]} slots={2} label="Tunnel checks" />);
    const beats = Array.from(document.querySelectorAll('.beat'));
    expect(beats[0].getAttribute('title')).toMatch(/: down, no reason given$/);
    const title = beats[1].getAttribute('title')!;
    expect(title.slice(title.indexOf(': down, '))).toBe(`: down, \u2068${reason}\u2069`);
  });

  it('says so when there is no check yet', () => {
    render(<HeartbeatBar checks={[]} label="Tunnel checks" />);
    expect(screen.getByRole('img', { name: 'Tunnel checks: no checks yet' })).toBeTruthy();
  });
});
