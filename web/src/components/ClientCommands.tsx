import { useId, useState, type KeyboardEvent } from 'react';
import { CopyButton } from './CopyButton';

export type CommandKind = 'docker' | 'binary' | 'compose' | 'systemd';

const TABS: { kind: CommandKind; label: string }[] = [
  { kind: 'docker', label: 'docker run' },
  { kind: 'binary', label: 'Binary' },
  { kind: 'compose', label: 'Docker Compose' },
  { kind: 'systemd', label: 'systemd' },
];

/** The image `make docker-build` builds; the server's PICOTUNNEL_IMAGE_PREFIX (a registry path) goes before it. */
export const CLIENT_IMAGE = 'picotunnel-client';

/** Turns a tunnel name into something usable as a container or unit name. */
export function slug(name: string): string {
  const s = name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');
  return s || 'tunnel';
}

/** The tunnel name as the systemd unit's Description holds it: one line, `%` as systemd reads it. */
function descriptionName(tunnelName: string): string {
  return tunnelName.replace(/\n/g, ' ').replace(/%/g, '%%');
}

/**
 * The command as shown: the tunnel name in the systemd unit's Description in a `<bdi>`, so that a right-to-left one
 * does not take the parenthesis after it into its run. (The copied command is the plain text.)
 */
function ShownCommand({ command, tunnelName }: { command: string; tunnelName: string }) {
  const name = descriptionName(tunnelName);
  const before = 'Description=PicoTunnel client (';
  const at = command.indexOf(`${before}${name})`);
  if (at < 0) return <>{command}</>;
  const start = at + before.length;
  return (
    <>
      {command.slice(0, start)}
      <bdi>{name}</bdi>
      {command.slice(start + name.length)}
    </>
  );
}

/** Quotes a value for a POSIX shell. */
function shellQuote(value: string): string {
  return /^[A-Za-z0-9_.:/@%+=,-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * The ready-to-paste command of one kind, for this server's tunnel address and the tunnel's token. The token never
 * appears as a command-line argument (where `ps` shows it): it goes in the environment or in a file only root reads.
 */
export function clientCommand(
  kind: CommandKind,
  server: string,
  token: string,
  tunnelName: string,
  imagePrefix = '',
): string {
  const name = `picotunnel-${slug(tunnelName)}`;
  const image = `${imagePrefix}${CLIENT_IMAGE}`;
  switch (kind) {
    case 'docker':
      return [
        `export PICOTUNNEL_TOKEN=${shellQuote(token)}`,
        `docker run -d --name ${name} --restart unless-stopped \\`,
        // Docker's 10 s would kill the client just as its PICOTUNNEL_SHUTDOWN_GRACE (10 s) for open streams ends.
        `  --stop-timeout 15 --network host \\`,
        `  -e PICOTUNNEL_SERVER=${shellQuote(server)} -e PICOTUNNEL_TOKEN \\`,
        `  ${image}`,
      ].join('\n');
    case 'binary':
      return [`export PICOTUNNEL_TOKEN=${shellQuote(token)}`, `picotunnel-client --server ${shellQuote(server)}`].join('\n');
    case 'compose':
      return [
        `# docker-compose.yml; start it with: PICOTUNNEL_TOKEN=${shellQuote(token)} docker compose up -d`,
        '# (or put PICOTUNNEL_TOKEN=... in a .env file next to it, readable by you only)',
        'services:',
        `  ${name}:`,
        `    image: ${image}`,
        '    restart: unless-stopped',
        '    stop_grace_period: 15s',
        '    network_mode: host',
        '    environment:',
        `      PICOTUNNEL_SERVER: "${server}"`,
        '      PICOTUNNEL_TOKEN: "${PICOTUNNEL_TOKEN:?set PICOTUNNEL_TOKEN}"',
      ].join('\n');
    case 'systemd':
      return [
        '# Needs the release archive unpacked to /opt/picotunnel. Run as root:',
        'install -d -m 0700 /etc/picotunnel',
        `install -m 0600 /dev/null /etc/picotunnel/${name}.env`,
        `cat > /etc/picotunnel/${name}.env <<'EOF'`,
        `PICOTUNNEL_SERVER=${server}`,
        `PICOTUNNEL_TOKEN=${token}`,
        'EOF',
        `cat > /etc/systemd/system/${name}.service <<'EOF'`,
        '[Unit]',
        // systemd expands %-specifiers in a unit's values: %n would become the unit's name, %Z an error.
        `Description=PicoTunnel client (${descriptionName(tunnelName)})`,
        'After=network-online.target',
        'Wants=network-online.target',
        '',
        // As packaging/systemd/picotunnel-client.service (DeploymentFilesTest compares them).
        '[Service]',
        'Type=simple',
        'DynamicUser=yes',
        `EnvironmentFile=/etc/picotunnel/${name}.env`,
        'ExecStart=/opt/picotunnel/bin/picotunnel-client',
        'SuccessExitStatus=143',
        'RestartPreventExitStatus=2 3',
        'Restart=on-failure',
        'RestartSec=5',
        'TimeoutStopSec=20',
        'NoNewPrivileges=yes',
        'CapabilityBoundingSet=',
        'ProtectSystem=strict',
        'ProtectHome=yes',
        'PrivateTmp=yes',
        'PrivateDevices=yes',
        'ProtectKernelTunables=yes',
        'ProtectKernelModules=yes',
        'ProtectKernelLogs=yes',
        'ProtectControlGroups=yes',
        'ProtectClock=yes',
        'ProtectHostname=yes',
        'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX',
        'RestrictNamespaces=yes',
        'RestrictRealtime=yes',
        'RestrictSUIDSGID=yes',
        'LockPersonality=yes',
        'SystemCallArchitectures=native',
        'UMask=0077',
        '',
        '[Install]',
        'WantedBy=multi-user.target',
        'EOF',
        `systemctl daemon-reload && systemctl enable --now ${name}`,
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
  imagePrefix = '',
}: {
  server: string;
  token: string | null;
  tunnelName: string;
  revealed: boolean;
  imagePrefix?: string;
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
          <code><ShownCommand command={clientCommand(active, server, shownToken, tunnelName, imagePrefix)} tunnelName={tunnelName} /></code>
        </pre>
        <CopyButton
          text={clientCommand(active, server, fullToken, tunnelName, imagePrefix)}
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
