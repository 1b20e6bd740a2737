import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { useState } from 'react';
import { describe, expect, it, vi } from 'vitest';
import { CSRF_HEADER, type Tunnel } from '../api';
import { mockFetch, tunnel as makeTunnel } from '../test/fetchMock';
import { TokenPanel } from './TokenPanel';

function Harness({ onRegenerated }: { onRegenerated: (t: Tunnel) => void }) {
  const [revealed, setRevealed] = useState(false);
  return <TokenPanel tunnel={makeTunnel() as Tunnel} revealed={revealed} onRevealedChange={setRevealed} onRegenerated={onRegenerated} />;
}

describe('TokenPanel', () => {
  it('reveals and hides the token', async () => {
    const user = userEvent.setup();
    render(<Harness onRegenerated={vi.fn()} />);
    const input = () => screen.getByLabelText(/Tunnel token/) as HTMLInputElement;
    expect(input().value).not.toContain('f');
    await user.click(screen.getByRole('button', { name: 'Reveal' }));
    expect(input().value).toBe('f'.repeat(64));
    expect(screen.getByRole('button', { name: 'Hide' }).getAttribute('aria-pressed')).toBe('true');
  });

  it('regenerates only after confirmation', async () => {
    const user = userEvent.setup();
    const newToken = 'e'.repeat(64);
    const calls = mockFetch({
      'POST /api/tunnels/a1b2c3d4e5f60718/regenerate': { status: 200, body: makeTunnel({ token: newToken }) },
    });
    const onRegenerated = vi.fn();
    render(<Harness onRegenerated={onRegenerated} />);

    await user.click(screen.getByRole('button', { name: 'Regenerate' }));
    expect(screen.getByRole('dialog', { name: 'Regenerate token?' })).toBeTruthy();
    await user.click(screen.getByRole('button', { name: 'Cancel' }));
    expect(screen.queryByRole('dialog')).toBeNull();
    expect(calls).toHaveLength(0);

    await user.click(screen.getByRole('button', { name: 'Regenerate' }));
    await user.click(screen.getByRole('button', { name: 'Regenerate token' }));
    expect(calls).toHaveLength(1);
    expect(calls[0].headers[CSRF_HEADER]).toBe('1');
    expect(onRegenerated).toHaveBeenCalledWith(expect.objectContaining({ token: newToken }));
    expect(screen.queryByRole('dialog')).toBeNull();
  });

  it('closes the confirmation with Escape and gives focus back', async () => {
    const user = userEvent.setup();
    render(<Harness onRegenerated={vi.fn()} />);
    const opener = screen.getByRole('button', { name: 'Regenerate' });
    await user.click(opener);
    await user.keyboard('{Escape}');
    expect(screen.queryByRole('dialog')).toBeNull();
    expect(document.activeElement).toBe(opener);
  });
});
