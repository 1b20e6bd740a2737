// The management API as the UI uses it. Every request carries the session cookie; writes also carry the
// custom header the server requires of cookie-authenticated writes (its CSRF defence).

/** One client connected to a tunnel; a tunnel may have several (replicas). */
export interface TunnelClient {
  /** Server-generated, one per connection: a reconnect gets a new one. */
  id: string;
  remote_addr: string | null;
  version: string | null;
  hostname: string | null;
  connected_since: string;
}

export interface Tunnel {
  id: string;
  name: string;
  /**
   * Only in the answers to create and regenerate: the server keeps a hash of the token, never the token, so
   * every other answer has null here.
   */
  token: string | null;
  created_at: string;
  updated_at: string;
  /** True while at least one client is connected. */
  connected: boolean;
  /** When the earliest connected client connected. */
  connected_since?: string | null;
  last_seen_at?: string | null;
  /** The connected clients, oldest first; empty when none is. */
  clients: TunnelClient[];
  bytes_in?: number;
  bytes_out?: number;
  active_connections?: number;
  total_connections?: number;
  /** Shown on the public status page (/status); off by default. */
  public_status?: boolean;
}

/** One check on the public status page: no error text, no ids. */
export interface PublicHeartbeat {
  status: 'up' | 'down';
  time: string;
  latency_ms: number | null;
}

/** A service on the public status page: its domain (and path) or "port N". */
export interface PublicService {
  name: string;
  type: ServiceType;
  status: 'up' | 'down' | null;
  since: string | null;
  uptime_24h: number | null;
  uptime_7d: number | null;
  uptime_30d: number | null;
}

/** A tunnel the operator shows on the public status page (GET /api/status, no sign-in). */
export interface PublicTunnel extends Omit<PublicService, 'type'> {
  /** The newest checks, newest first. */
  heartbeats: PublicHeartbeat[];
  services: PublicService[];
}

/** Responses by status class (http services and tunnels). */
export type RequestCounts = Record<'1xx' | '2xx' | '3xx' | '4xx' | '5xx', number>;

/** One check of a tunnel (service_id null) or of one of its services. */
export interface Check {
  id: number;
  tunnel_id: string;
  service_id: string | null;
  status: 'up' | 'down';
  latency_ms: number | null;
  error: string | null;
  created_at: string;
}

/** Uptime figures of a tunnel or service: percentages and milliseconds, null without data. */
export interface Figures {
  status: 'up' | 'down' | null;
  since: string | null;
  uptime_24h: number | null;
  uptime_7d: number | null;
  uptime_30d: number | null;
  avg_latency_ms_24h: number | null;
  avg_latency_ms_7d: number | null;
  avg_latency_ms_30d: number | null;
}

export interface Stats extends Figures {
  tunnel_id: string;
  services: (Figures & { service_id: string })[];
}

export interface PicoEvent {
  id: number;
  tunnel_id: string | null;
  service_id: string | null;
  type: string;
  message: string;
  created_at: string;
  /** In client_connected and client_left events recorded since the server keeps it; version and hostname null when the client did not say. */
  client?: EventClient;
}

export interface EventClient {
  id: string;
  remote_addr: string;
  version: string | null;
  hostname: string | null;
}

export type ServiceType = 'http' | 'tcp';
export type TlsMode = 'terminate' | 'passthrough';

/**
 * Who may use an http service: anyone, one user name and password, or people signed in through OIDC. For OIDC,
 * the listed emails and groups, or, with `allow_all` (the lists then empty), every user of the provider: the
 * server refuses empty lists without it.
 */
export type ServiceAuth =
  | { type: 'none' }
  | { type: 'basic'; username: string; password?: string }
  | { type: 'oidc'; allowed_emails: string[]; allowed_groups: string[]; allow_all: boolean };

/** Requests (http) or new connections (tcp, passthrough) per second per visitor address, and how many at once. */
export interface RateLimit {
  per_second: number;
  burst: number;
}

export interface Service {
  id: string;
  tunnel_id: string;
  type: ServiceType;
  domain?: string | null;
  path_prefix?: string | null;
  tls_mode?: TlsMode | null;
  listen_addr?: string | null;
  target_addr: string;
  enabled: boolean;
  /** Serving right now; false when disabled or when the server cannot serve it (see `error`). */
  active?: boolean;
  /** Why an enabled service is not active (its port is taken, say), else null. */
  error?: string | null;
  created_at: string;
  https_redirect?: boolean | null;
  cert_status?: string | null;
  cert_expires_at?: string | null;
  cert_error?: string | null;
  /** Never holds the password: the server keeps only its hash. */
  auth?: ServiceAuth | null;
  ip_allow?: string[] | null;
  ip_deny?: string[] | null;
  rate_limit?: RateLimit | null;
  health_check?: boolean;
  health_path?: string | null;
  bytes_in?: number;
  bytes_out?: number;
  active_connections?: number;
  total_connections?: number;
  requests?: RequestCounts | null;
}

export interface ServiceInput {
  type: ServiceType;
  domain?: string;
  path_prefix?: string;
  tls_mode?: TlsMode;
  listen_addr?: string;
  target_addr: string;
  enabled: boolean;
  https_redirect?: boolean;
  auth?: ServiceAuth;
  ip_allow?: string[];
  ip_deny?: string[];
  rate_limit?: RateLimit | null;
  /** Probe the service at every check interval (the server's default: on). */
  health_check?: boolean;
}

export interface Session {
  signed_in: boolean;
  method: 'oidc' | 'token' | 'none';
  user?: string | null;
  tunnel_server?: string | null;
  /**
   * Why the last single sign-on in this browser failed, once (the server leaves it in a cookie; never taken from the
   * URL, where any link could put words of its own).
   */
  signin_error?: string | null;
}

/** GET /api/server: what the UI shows about this server. */
export interface ServerInfo {
  /** What clients pass as --server. */
  tunnel_server: string;
  domain: string | null;
  /** The host name public addresses use: the server's domain, else the one the browser used. */
  public_host: string;
  http_port: number;
  https_port: number;
  /** Registry path before the image names in the commands (PICOTUNNEL_IMAGE_PREFIX); empty by default. */
  image_prefix: string;
  version: string;
}

export const CSRF_HEADER = 'X-PicoTunnel-CSRF';

const SERVICE_FIELDS = ['domain', 'path_prefix', 'tls_mode', 'listen_addr', 'target_addr', 'type', 'https_redirect',
  'auth', 'ip_allow', 'ip_deny', 'rate_limit'];

/** An error answer of the API: its status, its error code and, where it names one, the field at fault. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly field: string | null;

  constructor(status: number, code: string, message: string, field: string | null) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

/** Finds the field an error message is about: the API names it in `field` or in the message text. */
export function fieldOf(body: { field?: unknown; message?: unknown; error?: unknown }): string | null {
  if (typeof body.field === 'string') return body.field;
  const text = `${typeof body.error === 'string' ? body.error : ''} ${typeof body.message === 'string' ? body.message : ''}`;
  for (const field of SERVICE_FIELDS) {
    if (new RegExp(`\\b${field}\\b`).test(text)) return field;
  }
  return null;
}

/**
 * The server's refusal of a tunnel name in the UI's words: the API says 'name: is longer than 100 characters' (its
 * field, then the problem), which the UI shows under the field called "Name" as 'The name is longer than 100
 * characters.'. Other errors are as the server says them.
 */
export function tunnelNameMessage(error: unknown): string {
  if (!(error instanceof ApiError)) return String(error);
  const problem = /^name:\s*(.+)$/s.exec(error.message);
  if (error.field !== 'name' || !problem) return error.message;
  const text = `The name ${problem[1].trim()}`;
  return /[.!?]$/.test(text) ? text : `${text}.`;
}

type Listener = () => void;

type ReachabilityListener = (reachable: boolean, since: Date | null) => void;
const reachabilityListeners = new Set<ReachabilityListener>();
let reachable = true;
/** When the server was last answered by (the time of the data shown while it cannot be reached). */
let lastContact: Date | null = null;

/** Every request tells whether the server answered; listeners hear of each change. */
export function reportReachable(answered: boolean) {
  if (answered) lastContact = new Date();
  if (answered === reachable) return;
  reachable = answered;
  reachabilityListeners.forEach((listener) => listener(reachable, lastContact));
}

/** Calls back whenever the server becomes unreachable or reachable again; returns the unsubscribe. */
export function onReachability(listener: ReachabilityListener): () => void {
  reachabilityListeners.add(listener);
  listener(reachable, lastContact);
  return () => reachabilityListeners.delete(listener);
}
const unauthorizedListeners = new Set<Listener>();
/**
 * Set once this page signs out, for as long as the page lives: a poll the server answers 401 meanwhile found the
 * session this page ended, not one that ended elsewhere. A page the browser brings back from its back/forward cache
 * after its sign-out loads anew ({@link signedOutHere}), which starts without it.
 */
let signingOut = false;

/** Whether this page has signed out: shown again after that, it must load anew rather than show the old session. */
export function signedOutHere(): boolean {
  return signingOut;
}

/** Clears the sign-out mark, as a new page load does: for tests, whose pages share this module. */
export function forgetSignOut(): void {
  signingOut = false;
}

/** Calls back when any request is answered 401, so the app can show the sign-in page. */
export function onUnauthorized(listener: Listener): () => void {
  unauthorizedListeners.add(listener);
  return () => unauthorizedListeners.delete(listener);
}

/**
 * How long a request may wait for the whole answer. A server (or a proxy in front) that takes the connection and
 * never answers would otherwise leave the page on "Loading…", or a button on "Saving…", for good. Below the polls'
 * STUCK_LOAD_MS, so a poll always ends before the next one is let through.
 */
export const REQUEST_TIMEOUT_MS = 15_000;

function timedOut(method: string): ApiError {
  const seconds = REQUEST_TIMEOUT_MS / 1000;
  return new ApiError(0, 'timeout', method === 'GET'
    ? `The server did not answer within ${seconds} seconds. Check your connection and the server, then try again.`
    : `The server did not answer within ${seconds} seconds, so the change may or may not have been made. `
      + 'Reload the page to see, then try again if needed.', null);
}

export async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), REQUEST_TIMEOUT_MS);
  try {
    return await send<T>(method, path, body, abort.signal);
  } catch (e) {
    if (!abort.signal.aborted) throw e;
    reportReachable(false);
    throw timedOut(method);
  } finally {
    clearTimeout(timer);
  }
}

async function send<T>(method: string, path: string, body: unknown, signal: AbortSignal): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (method !== 'GET') headers[CSRF_HEADER] = '1';
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
    });
  } catch (e) {
    if (signal.aborted) throw e;
    reportReachable(false);
    throw new ApiError(0, 'network', 'The server cannot be reached. Check your connection and try again.', null);
  }
  // A proxy in front answers 502/503/504 while the server itself is down.
  reportReachable(![502, 503, 504].includes(response.status));
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  let parsed: unknown = null;
  if (text) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = null;
    }
  }
  if (!response.ok) {
    const errorBody = (parsed && typeof parsed === 'object' ? parsed : {}) as Record<string, unknown>;
    if (response.status === 401 && !path.startsWith('/auth/') && !signingOut) {
      unauthorizedListeners.forEach((listener) => listener());
    }
    const message =
      typeof errorBody.message === 'string' ? errorBody.message : `The server answered ${response.status}.`;
    const code = typeof errorBody.error === 'string' ? errorBody.error : 'http_' + response.status;
    throw new ApiError(response.status, code, message, fieldOf(errorBody));
  }
  return parsed as T;
}

export const api = {
  session: () => request<Session>('GET', '/auth/session'),
  signInWithToken: (token: string) => request<Session>('POST', '/auth/token', { token }),
  signOut: () => {
    signingOut = true;
    return request<{ redirect?: string | null }>('POST', '/auth/logout');
  },

  server: () => request<ServerInfo>('GET', '/api/server'),
  tunnels: () => request<Tunnel[]>('GET', '/api/tunnels'),
  tunnel: (id: string) => request<Tunnel>('GET', `/api/tunnels/${encodeURIComponent(id)}`),
  createTunnel: (name: string) => request<Tunnel>('POST', '/api/tunnels', { name }),
  renameTunnel: (id: string, name: string) =>
    request<Tunnel>('PATCH', `/api/tunnels/${encodeURIComponent(id)}`, { name }),
  setPublicStatus: (id: string, publicStatus: boolean) =>
    request<Tunnel>('PATCH', `/api/tunnels/${encodeURIComponent(id)}`, { public_status: publicStatus }),
  publicStatus: () => request<PublicTunnel[]>('GET', '/api/status'),
  deleteTunnel: (id: string) => request<void>('DELETE', `/api/tunnels/${encodeURIComponent(id)}`),
  regenerateToken: (id: string) => request<Tunnel>('POST', `/api/tunnels/${encodeURIComponent(id)}/regenerate`),

  services: (tunnelId: string) => request<Service[]>('GET', `/api/tunnels/${encodeURIComponent(tunnelId)}/services`),
  /** Every tunnel's services, in one request. */
  allServices: () => request<Service[]>('GET', '/api/services'),
  createService: (tunnelId: string, input: ServiceInput) =>
    request<Service>('POST', `/api/tunnels/${encodeURIComponent(tunnelId)}/services`, input),
  updateService: (id: string, input: Partial<ServiceInput>) =>
    request<Service>('PATCH', `/api/services/${encodeURIComponent(id)}`, input),
  deleteService: (id: string) => request<void>('DELETE', `/api/services/${encodeURIComponent(id)}`),

  checks: (tunnelId: string, limit: number, serviceId?: string) =>
    request<Check[]>('GET', `/api/tunnels/${encodeURIComponent(tunnelId)}/checks?limit=${limit}`
      + (serviceId ? `&service_id=${encodeURIComponent(serviceId)}` : '')),
  /** The newest `limit` own checks of every tunnel (at most 100 each), in one request. */
  checksOfEachTunnel: (limit: number) => request<Check[]>('GET', `/api/checks?limit=${limit}`),
  stats: (tunnelId: string) => request<Stats>('GET', `/api/tunnels/${encodeURIComponent(tunnelId)}/stats`),
  tunnelEvents: (tunnelId: string, limit: number) =>
    request<PicoEvent[]>('GET', `/api/tunnels/${encodeURIComponent(tunnelId)}/events?limit=${limit}`),
};
