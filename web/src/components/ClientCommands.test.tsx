import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import { ClientCommands, clientCommand, TOKEN_PLACEHOLDER } from './ClientCommands';

const TOKEN = 'ab'.repeat(32);

describe('ClientCommands', () => {
  it('fills every command with the server address and the token', () => {
    for (const kind of ['docker', 'binary', 'compose', 'systemd'] as const) {
      const command = clientCommand(kind, 'tunnel.example.com:8443', TOKEN, 'Home Server');
      expect(command).toContain('tunnel.example.com:8443');
      expect(command).toContain(TOKEN);
    }
    expect(clientCommand('binary', 'ws://localhost:8443', TOKEN, 'x')).toBe(
      `export PICOTUNNEL_TOKEN=${TOKEN}\npicotunnel-client --server ws://localhost:8443`,
    );
    expect(clientCommand('docker', 's:1', TOKEN, 'Home Server')).toContain('--name picotunnel-home-server');
  });

  it('never puts the token on a command line', () => {
    for (const kind of ['docker', 'binary', 'compose', 'systemd'] as const) {
      const command = clientCommand(kind, 'srv:8443', TOKEN, 'home');
      expect(command).not.toContain('--token');
      expect(command).not.toMatch(new RegExp(`-e PICOTUNNEL_TOKEN=${TOKEN}`));
    }
  });

  it('writes a percent sign in the tunnel name as systemd reads it', () => {
    // systemd expands %n (the unit's name) and refuses an unknown %Z in a Description.
    expect(clientCommand('systemd', 's:1', TOKEN, '100% %n')).toContain('Description=PicoTunnel client (100%% %%n)');
  });

  it('names the picotunnel-client image, after the registry prefix when the server sets one', () => {
    expect(clientCommand('docker', 's:1', TOKEN, 'h')).toMatch(/\n {2}picotunnel-client$/);
    expect(clientCommand('compose', 's:1', TOKEN, 'h', 'registry.example.com/team/')).toContain(
      'image: registry.example.com/team/picotunnel-client',
    );
    expect(clientCommand('docker', 's:1', TOKEN, 'h', 'registry.example.com/team/')).toContain(
      'registry.example.com/team/picotunnel-client',
    );
  });

  it('hides the token until revealed but copies the full command', async () => {
    const user = userEvent.setup();
    const writeText = vi.fn().mockResolvedValue(undefined);
    Object.defineProperty(navigator, 'clipboard', { value: { writeText }, configurable: true });
    render(<ClientCommands server="srv:8443" token={TOKEN} tunnelName="home" revealed={false} />);

    expect(screen.getByRole('tabpanel').textContent).not.toContain(TOKEN);
    await user.click(screen.getByRole('tab', { name: 'Binary' }));
    await user.click(screen.getByRole('button', { name: 'Copy Binary command' }));
    expect(writeText).toHaveBeenCalledWith(`export PICOTUNNEL_TOKEN=${TOKEN}\npicotunnel-client --server srv:8443`);
    expect(await screen.findByText('Copied')).toBeTruthy();
  });

  it('without the token shows and copies a placeholder to replace', async () => {
    const user = userEvent.setup();
    const writeText = vi.fn().mockResolvedValue(undefined);
    Object.defineProperty(navigator, 'clipboard', { value: { writeText }, configurable: true });
    render(<ClientCommands server="srv:8443" token={null} tunnelName="home" revealed={false} />);

    expect(screen.getByRole('tabpanel').textContent).toContain(`PICOTUNNEL_TOKEN='${TOKEN_PLACEHOLDER}'`);
    expect(screen.getByText(/Replace <YOUR_TUNNEL_TOKEN> with the tunnel's token/)).toBeTruthy();
    await user.click(screen.getByRole('tab', { name: 'Binary' }));
    await user.click(screen.getByRole('button', { name: 'Copy Binary command' }));
    expect(writeText).toHaveBeenCalledWith(`export PICOTUNNEL_TOKEN='${TOKEN_PLACEHOLDER}'\npicotunnel-client --server srv:8443`);
  });

  it("isolates the tunnel's name in the systemd unit shown, and copies it as plain text", async () => {
    const user = userEvent.setup();
    const writeText = vi.fn().mockResolvedValue(undefined);
    Object.defineProperty(navigator, 'clipboard', { value: { writeText }, configurable: true });
    render(<ClientCommands server="s:1" token={TOKEN} tunnelName="שרת הבית" revealed />);
    await user.click(screen.getByRole('tab', { name: 'systemd' }));

    const shown = screen.getByRole('tabpanel').querySelector('code') as HTMLElement;
    expect(shown.textContent).toBe(clientCommand('systemd', 's:1', TOKEN, 'שרת הבית'));
    expect(screen.getByText('שרת הבית').tagName).toBe('BDI');
    await user.click(screen.getByRole('button', { name: 'Copy systemd command' }));
    expect(writeText).toHaveBeenCalledWith(clientCommand('systemd', 's:1', TOKEN, 'שרת הבית'));
  });

  it('moves between tabs with the arrow keys', async () => {
    const user = userEvent.setup();
    render(<ClientCommands server="srv:8443" token={TOKEN} tunnelName="home" revealed />);
    screen.getByRole('tab', { name: 'docker run' }).focus();
    await user.keyboard('{ArrowRight}');
    expect(screen.getByRole('tab', { name: 'Binary' }).getAttribute('aria-selected')).toBe('true');
    expect(document.activeElement).toBe(screen.getByRole('tab', { name: 'Binary' }));
    await user.keyboard('{End}');
    expect(screen.getByRole('tabpanel').textContent).toContain('[Service]');
  });
});
