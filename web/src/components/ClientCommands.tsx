import { useId, useState, type KeyboardEvent } from 'react';
import { CopyButton } from './CopyButton';

export type CommandKind = 'docker' | 'binary' | 'compose' | 'systemd';

const TABS: { kind: CommandKind; label: string }[] = [
  { kind: 'docker', label: 'docker run' },
  { kind: 'binary', label: 'Binary' },
  { kind: 'compose', label: 'Docker Compose' },
  { kind: 'systemd', label: 'systemd' },
];

const IMAGE = 'ghcr.io/jclement/picotunnel-client';

/** Turns a tunnel name into something usable as a container or unit name. */
export function slug(name: string): string {
  const s = name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');
  return s || 'tunnel';
}

/** The ready-to-paste command of one kind, for this server's tunnel address and the tunnel's token. */
export function clientCommand(kind: CommandKind, server: string, token: string, tunnelName: string): string {
  const name = `picotunnel-${slug(tunnelName)}`;
  switch (kind) {
    case 'docker':
      return [
        `docker run -d --name ${name} --restart unless-stopped \\`,
        `  --network host \\`,
        `  -e PICOTUNNEL_SERVER=${server} \\`,
        `  -e PICOTUNNEL_TOKEN=${token} \\`,
        `  ${IMAGE}`,
      ].join('\n');
    case 'binary':
      return `./picotunnel-client --server ${server} --token ${token}`;
    case 'compose':
      return [
        'services:',
        `  ${name}:`,
        `    image: ${IMAGE}`,
        '    restart: unless-stopped',
        '    network_mode: host',
        '    environment:',
        `      PICOTUNNEL_SERVER: "${server}"`,
        `      PICOTUNNEL_TOKEN: "${token}"`,
      ].join('\n');
    case 'systemd':
      return [
        `# /etc/systemd/system/${name}.service`,
        '[Unit]',
        `Description=PicoTunnel client (${tunnelName.replace(/\n/g, ' ')})`,
        'After=network-online.target',
        'Wants=network-online.target',
        '',
        '[Service]',
        `Environment=PICOTUNNEL_SERVER=${server}`,
        `Environment=PICOTUNNEL_TOKEN=${token}`,
        'ExecStart=/usr/local/bin/picotunnel-client',
        'Restart=always',
        'RestartSec=5',
        'DynamicUser=yes',
        '',
        '[Install]',
        'WantedBy=multi-user.target',
      ].join('\n');
  }
}

/** What the commands say instead of the token when the page does not have it (it is shown only once). */
export const TOKEN_PLACEHOLDER = '<YOUR_TUNNEL_TOKEN>';

/**
 * Tabs with the client commands. The token is shown only while revealed, but the copy button always
 * copies the full command. Without the token (null: the server keeps only its hash) the commands carry
 * a placeholder to replace with the saved token.
 */
export function ClientCommands({
  server,
  token,
  tunnelName,
  revealed,
}: {
  server: string;
  token: string | null;
  tunnelName: string;
  revealed: boolean;
}) {
  const [active, setActive] = useState<CommandKind>('docker');
  const baseId = useId();
  const fullToken = token ?? TOKEN_PLACEHOLDER;
  const shownToken = token === null || revealed ? fullToken : '•'.repeat(16);
  const onKeyDown = (event: KeyboardEvent<HTMLButtonElement>, index: number) => {
    let next = -1;
    if (event.key === 'ArrowRight') next = (index + 1) % TABS.length;
    if (event.key === 'ArrowLeft') next = (index - 1 + TABS.length) % TABS.length;
    if (event.key === 'Home') next = 0;
    if (event.key === 'End') next = TABS.length - 1;
    if (next >= 0) {
      event.preventDefault();
      setActive(TABS[next].kind);
      document.getElementById(`${baseId}-tab-${TABS[next].kind}`)?.focus();
    }
  };
  return (
    <div className="commands">
      <div role="tablist" aria-label="Client command" className="tabs">
        {TABS.map((tab, index) => (
          <button
            key={tab.kind}
            id={`${baseId}-tab-${tab.kind}`}
            role="tab"
            type="button"
            aria-selected={active === tab.kind}
            aria-controls={`${baseId}-panel`}
            tabIndex={active === tab.kind ? 0 : -1}
            className="tab"
            onClick={() => setActive(tab.kind)}
            onKeyDown={(e) => onKeyDown(e, index)}
          >
            {tab.label}
          </button>
        ))}
      </div>
      <div role="tabpanel" id={`${baseId}-panel`} aria-labelledby={`${baseId}-tab-${active}`} className="code-block">
        <pre tabIndex={0} aria-label={`${TABS.find((t) => t.kind === active)?.label} command`}>
          <code>{clientCommand(active, server, shownToken, tunnelName)}</code>
        </pre>
        <CopyButton
          text={clientCommand(active, server, fullToken, tunnelName)}
          label={`Copy ${TABS.find((t) => t.kind === active)?.label} command`}
          className="btn btn-sm code-copy"
        />
      </div>
      {token === null && (
        <p className="hint">Replace {TOKEN_PLACEHOLDER} with the tunnel&apos;s token.</p>
      )}
    </div>
  );
}
