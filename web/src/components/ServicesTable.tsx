import type { ServerInfo, Service } from '../api';
import { unicodeHost, unicodeText } from '../idn';
import { isolated } from '../bidi';
import { formatDate } from '../time';
import { CopyButton } from './CopyButton';
import { HostName, WithHostNames } from './HostName';
import { EditIcon, TrashIcon } from './Icons';

/** The server's certificate states (cert_status) as shown: label and badge colour. */
const CERT_STATUS: Record<string, [string, string]> = {
  valid: ['Valid', 'badge-ok'],
  pending: ['Pending', 'badge-warn'],
  error: ['Error', 'badge-error'],
  none: ['No certificate', 'badge-muted'],
};

function CertStatus({ service }: { service: Service }) {
  if (service.type !== 'http' || service.tls_mode === 'passthrough') {
    return <span className="muted" title="The server holds no certificate for this service">—<span className="visually-hidden">not applicable</span></span>;
  }
  if (!service.cert_status) return <span className="muted">—<span className="visually-hidden">unknown</span></span>;
  const [label, tone] = CERT_STATUS[service.cert_status] ?? [service.cert_status, 'badge-muted'];
  return (
    <span className="cert">
      <span className={`badge ${tone}`}>{label}</span>
      {service.cert_expires_at && (
        <span className="cert-detail">until <time dateTime={service.cert_expires_at}>{formatDate(service.cert_expires_at)}</time></span>
      )}
      {service.cert_error && <span className="cert-detail cert-error"><WithHostNames text={service.cert_error} /></span>}
    </span>
  );
}

/** Where the service is reachable, as people read it: domain (in Unicode) and path for HTTP, the listen address for TCP. */
export function serviceAddress(service: Service): string {
  if (service.type === 'tcp') return service.listen_addr ?? '';
  const path = service.path_prefix && service.path_prefix !== '/' ? service.path_prefix : '';
  return `${unicodeHost(service.domain ?? '')}${path}`;
}

/**
 * Where visitors reach the service: `https://domain/path` (`http://` while the server holds no valid certificate
 * for a terminated service; the proxy's port when it is not the default), or `host:port` for TCP, on the server's
 * domain (else the host name this page came from). Null while the server's details are unknown.
 */
export function publicAddress(service: Service, info: ServerInfo | null): { text: string; url: string | null } | null {
  if (!info) return null;
  if (service.type === 'tcp') {
    const port = (service.listen_addr ?? '').split(':').pop() ?? '';
    const host = info.public_host.includes(':') ? `[${info.public_host}]` : info.public_host;
    return { text: `${host}:${port}`, url: null };
  }
  const secure = service.tls_mode === 'passthrough' || service.cert_status === 'valid';
  const port = secure ? info.https_port : info.http_port;
  const defaultPort = secure ? 443 : 80;
  const domain = service.domain ?? '';
  const path = service.path_prefix && service.path_prefix !== '/' ? service.path_prefix : '/';
  const text = `${secure ? 'https' : 'http'}://${domain}${port === defaultPort ? '' : `:${port}`}${path}`;
  return { text, url: domain.startsWith('*.') ? null : text };
}

function PublicAddress({ service, info }: { service: Service; info: ServerInfo | null }) {
  const address = publicAddress(service, info);
  if (!address) return null;
  // shown as a browser's address bar shows it; the link and the copy keep the xn-- form, which every tool takes
  const shown = unicodeText(address.text);
  const title = shown === address.text ? undefined : address.text;
  return (
    <span className="public-address">
      {address.url ? (
        <a href={address.url} target="_blank" rel="noreferrer noopener" className="mono" title={title}><bdi>{shown}</bdi></a>
      ) : (
        <bdi className="mono" title={title}>{shown}</bdi>
      )}
      <CopyButton text={address.text} label={`Copy address ${isolated(address.text)}`} className="btn btn-sm btn-copy" />
    </span>
  );
}

export function ServicesTable({
  services,
  busyIds,
  onToggle,
  onEdit,
  onDelete,
  serverInfo = null,
}: {
  serverInfo?: ServerInfo | null;
  services: Service[];
  busyIds: Set<string>;
  onToggle: (service: Service, enabled: boolean) => void;
  onEdit: (service: Service) => void;
  onDelete: (service: Service) => void;
}) {
  return (
    <div className="table-wrap">
      <table className="table services-table">
        <caption className="visually-hidden">Services of this tunnel</caption>
        <thead>
          <tr>
            <th scope="col">Type</th>
            <th scope="col">Public address</th>
            <th scope="col">Path</th>
            <th scope="col">TLS</th>
            <th scope="col">Target</th>
            <th scope="col">Certificate</th>
            <th scope="col">Enabled</th>
            <th scope="col"><span className="visually-hidden">Actions</span></th>
          </tr>
        </thead>
        <tbody>
          {services.map((service) => {
            const address = service.type === 'tcp' ? service.listen_addr ?? '' : service.domain ?? '';
            const failed = service.enabled && service.active === false;
            return (
              <tr key={service.id} className={!service.enabled ? 'row-disabled' : failed ? 'row-failed' : ''}>
                <td data-label="Type"><span className={`type-pill type-${service.type}`}>{service.type.toUpperCase()}</span></td>
                <td data-label="Public address">
                  {service.type === 'tcp' ? <span className="mono">{address}</span> : <HostName name={address} className="mono" />}
                  {service.https_redirect && <span className="badge badge-muted inline-badge">HTTP → HTTPS</span>}
                  {accessBadges(service).map((label) => (
                    <span key={label} className="badge badge-muted inline-badge">{label}</span>
                  ))}
                  <PublicAddress service={service} info={serverInfo} />
                  {failed && (
                    <span className="service-error" role="status">
                      <span className="badge badge-error">Not active</span> <WithHostNames text={service.error ?? 'The server cannot serve it right now.'} />
                    </span>
                  )}
                </td>
                <td data-label="Path" className="mono">{service.type === 'http' ? service.path_prefix ?? '/' : '—'}</td>
                <td data-label="TLS">{service.type === 'http' ? service.tls_mode ?? 'terminate' : '—'}</td>
                <td data-label="Target" className="mono"><WithHostNames text={service.target_addr} /></td>
                <td data-label="Certificate"><CertStatus service={service} /></td>
                <td data-label="Enabled">
                  <label className="switch">
                    <input
                      type="checkbox"
                      role="switch"
                      checked={service.enabled}
                      disabled={busyIds.has(service.id)}
                      aria-label={`Enabled: ${isolated(serviceAddress(service))}`}
                      onChange={(e) => onToggle(service, e.target.checked)}
                    />
                    <span className="switch-track" aria-hidden="true" />
                  </label>
                </td>
                <td className="actions">
                  <button type="button" className="btn btn-icon" aria-label={`Edit ${isolated(serviceAddress(service))}`} onClick={() => onEdit(service)}>
                    <EditIcon />
                  </button>
                  <button type="button" className="btn btn-icon btn-icon-danger" aria-label={`Delete ${isolated(serviceAddress(service))}`} onClick={() => onDelete(service)}>
                    <TrashIcon />
                  </button>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

/** Short labels for what stands in front of a service: sign-in, address lists, rate limit. */
export function accessBadges(service: Service): string[] {
  const badges: string[] = [];
  if (service.auth?.type === 'basic') badges.push('Password');
  if (service.auth?.type === 'oidc') badges.push(service.auth.allow_all ? 'Single sign-on: every user' : 'Single sign-on');
  if ((service.ip_allow?.length ?? 0) > 0 || (service.ip_deny?.length ?? 0) > 0) badges.push('IP rules');
  if (service.rate_limit) badges.push(`≤ ${service.rate_limit.per_second}/s`);
  return badges;
}
