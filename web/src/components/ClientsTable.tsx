import type { TunnelClient } from '../api';
import { formatDate, timeAgo } from '../time';
import { HostName } from './HostName';

/** The clients connected to a tunnel: where from, which version, which host, since when. */
export function ClientsTable({ clients }: { clients: TunnelClient[] }) {
  if (clients.length === 0) {
    return (
      <div className="empty-inline">
        <p>No client is connected. Start one with the command below; you may run several with the same token.</p>
      </div>
    );
  }
  return (
    <div className="table-wrap">
      <table className="table clients-table">
        <caption className="visually-hidden">Connected clients</caption>
        <thead>
          <tr>
            <th scope="col">Address</th>
            <th scope="col">Version</th>
            <th scope="col">Hostname</th>
            <th scope="col">Connected since</th>
          </tr>
        </thead>
        <tbody>
          {clients.map((client) => (
            <tr key={client.id}>
              <td data-label="Address" className="mono">{client.remote_addr ?? <Unknown />}</td>
              <td data-label="Version">{client.version == null ? <Unknown /> : <bdi>{client.version}</bdi>}</td>
              <td data-label="Hostname" className="mono">
                {client.hostname == null ? <Unknown /> : <HostName name={client.hostname} />}
              </td>
              <td data-label="Connected since" title={formatDate(client.connected_since)}>
                <time dateTime={client.connected_since}>{timeAgo(client.connected_since)}</time>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Unknown() {
  return <span className="muted">—<span className="visually-hidden">not reported</span></span>;
}
