import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { useState } from 'react';
import { describe, expect, it, vi } from 'vitest';
import { CSRF_HEADER, type Tunnel } from '../api';
import { mockFetch, tunnel as makeTunnel } from '../test/fetchMock';
import { TokenPanel } from './TokenPanel';

function Harness({ token, onRegenerated }: { token: string | null; onRegenerated: (t: Tunnel) => void }) {
  const [revealed, setRevealed] = useState(false);
  const [shown, setShown] = useState(token);
  return (
    <TokenPanel
      tunnel={makeTunnel({ token: null }) as Tunnel}
      token={shown}
      revealed={revealed}
      onRevealedChange={setRevealed}
      onRegenerated={(t) => {
        setShown(t.token);
        onRegenerated(t);
      }}
    />
  );
}

describe('TokenPanel', () => {
  it('reveals and hides the token it was given, and says it is shown only once', async () => {
    const user = userEvent.setup();
    render(<Harness token={'f'.repeat(64)} onRegenerated={vi.fn()} />);
    const input = () => screen.getByLabelText(/Tunnel token/) as HTMLInputElement;
    expect(input().value).not.toContain('f');
    await user.click(screen.getByRole('button', { name: 'Reveal' }));
    expect(input().value).toBe('f'.repeat(64));
    expect(screen.getByRole('button', { name: 'Hide' }).getAttribute('aria-pressed')).toBe('true');
    expect(screen.getByRole('note').textContent).toContain('shown only this once');
    expect(screen.getByRole('note').textContent).toContain('cannot be shown again');
  });

  it('without the token explains why it cannot be shown and offers to regenerate', () => {
    render(<Harness token={null} onRegenerated={vi.fn()} />);
    expect(screen.queryByLabelText(/Tunnel token/)).toBeNull();
    expect(screen.queryByRole('button', { name: 'Reveal' })).toBeNull();
    expect(screen.queryByRole('button', { name: 'Copy token' })).toBeNull();
    expect(screen.getByText(/cannot be shown\s+again: the server keeps only a hash of it/)).toBeTruthy();
    expect(screen.getByRole('button', { name: 'Regenerate' })).toBeTruthy();
  });

  it('regenerates only after confirmation and then shows the new token', async () => {
    const user = userEvent.setup();
    const newToken = 'e'.repeat(64);
    const calls = mockFetch({
      'POST /api/tunnels/a1b2c3d4e5f60718/regenerate': { status: 200, body: makeTunnel({ token: newToken }) },
    });
    const onRegenerated = vi.fn();
    render(<Harness token={null} onRegenerated={onRegenerated} />);

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
    expect((screen.getByLabelText('Tunnel token') as HTMLInputElement).value).toBe(newToken);
    expect(screen.getByRole('note').textContent).toContain('shown only this once');
  });

  it('closes the confirmation with Escape and gives focus back', async () => {
    const user = userEvent.setup();
    render(<Harness token={'f'.repeat(64)} onRegenerated={vi.fn()} />);
    const opener = screen.getByRole('button', { name: 'Regenerate' });
    await user.click(opener);
    await user.keyboard('{Escape}');
    expect(screen.queryByRole('dialog')).toBeNull();
    expect(document.activeElement).toBe(opener);
  });
});
