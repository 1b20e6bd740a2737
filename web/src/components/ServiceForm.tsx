import { useId, useState, type FormEvent } from 'react';
import { ApiError, type Service, type ServiceAuth, type ServiceInput, type ServiceType, type TlsMode } from '../api';
import { isolated } from '../bidi';
import { unicodeHost, unicodeText } from '../idn';
import { WithHostNames } from './HostName';

type AuthType = ServiceAuth['type'];

interface Values {
  type: ServiceType;
  domain: string;
  path_prefix: string;
  tls_mode: TlsMode;
  listen_addr: string;
  target_addr: string;
  enabled: boolean;
  health_check: boolean;
  https_redirect: boolean;
  ip_allow: string;
  ip_deny: string;
  rate_per_second: string;
  rate_burst: string;
  auth_type: AuthType;
  auth_username: string;
  auth_password: string;
  auth_emails: string;
  auth_groups: string;
  /** Single sign-on for every user of the provider, instead of the lists. */
  auth_allow_all: boolean;
}

/** Entries typed one per line (or separated by commas or spaces). */
function entries(text: string): string[] {
  return text.split(/[\s,]+/).map((e) => e.trim()).filter((e) => e !== '');
}

function initialValues(service?: Service): Values {
  const auth = service?.auth;
  return {
    type: service?.type ?? 'http',
    domain: unicodeHost(service?.domain ?? ''),
    path_prefix: service?.path_prefix ?? '/',
    tls_mode: service?.tls_mode ?? 'terminate',
    listen_addr: service?.listen_addr ?? '',
    target_addr: unicodeText(service?.target_addr ?? ''),
    enabled: service?.enabled ?? true,
    health_check: service?.health_check ?? true,
    https_redirect: service?.https_redirect ?? false,
    ip_allow: (service?.ip_allow ?? []).join('\n'),
    ip_deny: (service?.ip_deny ?? []).join('\n'),
    rate_per_second: service?.rate_limit ? String(service.rate_limit.per_second) : '',
    rate_burst: service?.rate_limit ? String(service.rate_limit.burst) : '',
    auth_type: auth?.type ?? 'none',
    auth_username: auth?.type === 'basic' ? auth.username : '',
    auth_password: '',
    auth_emails: auth?.type === 'oidc' ? auth.allowed_emails.join('\n') : '',
    auth_groups: auth?.type === 'oidc' ? auth.allowed_groups.join('\n') : '',
    auth_allow_all: auth?.type === 'oidc' && auth.allow_all === true,
  };
}

/** The access fields: every kind of service takes address lists and a rate limit; http ones with TLS terminated, sign-in. */
function accessInput(values: Values) {
  const passthrough = values.type === 'http' && values.tls_mode === 'passthrough';
  const perSecond = values.rate_per_second.trim();
  const burst = values.rate_burst.trim();
  const access: Pick<ServiceInput, 'ip_allow' | 'ip_deny' | 'rate_limit' | 'auth'> = {
    ip_allow: entries(values.ip_allow),
    ip_deny: passthrough ? [] : entries(values.ip_deny),
    rate_limit: perSecond === '' ? null : ({ per_second: Number(perSecond), ...(burst === '' ? {} : { burst: Number(burst) }) } as ServiceInput['rate_limit']),
  };
  if (values.type === 'http') {
    access.auth = passthrough ? { type: 'none' } : authInput(values);
  }
  return access;
}

function authInput(values: Values): ServiceAuth {
  switch (values.auth_type) {
    case 'basic':
      // An empty password on an edit keeps the stored one (the server never sends it back).
      return values.auth_password === ''
        ? { type: 'basic', username: values.auth_username.trim() }
        : { type: 'basic', username: values.auth_username.trim(), password: values.auth_password };
    case 'oidc':
      // The server refuses allow_all with lists: the lists (kept in the form, hidden) are not sent with it.
      return values.auth_allow_all
        ? { type: 'oidc', allowed_emails: [], allowed_groups: [], allow_all: true }
        : { type: 'oidc', allowed_emails: entries(values.auth_emails), allowed_groups: entries(values.auth_groups), allow_all: false };
    default:
      return { type: 'none' };
  }
}

/**
 * The input with the domain and target as the server stores them while they are as the form showed them (in Unicode):
 * the server would convert the Unicode again, but refuses a name with characters newer than Unicode 3.2 (its IDNA2003
 * does not know them) unless it comes in its xn-- form.
 */
function withStoredNames(input: ServiceInput, service?: Service): ServiceInput {
  const kept = { ...input };
  if (service?.domain && kept.domain === unicodeHost(service.domain)) kept.domain = service.domain;
  if (service && kept.target_addr === unicodeText(service.target_addr)) kept.target_addr = service.target_addr;
  return kept;
}

/** The request body for the values: only the fields of the chosen type. */
export function toInput(values: Values): ServiceInput {
  if (values.type === 'tcp') {
    return {
      type: 'tcp', listen_addr: values.listen_addr.trim(), target_addr: values.target_addr.trim(), enabled: values.enabled,
      health_check: values.health_check, ...accessInput(values),
    };
  }
  return {
    type: 'http',
    domain: values.domain.trim(),
    path_prefix: values.path_prefix.trim() || '/',
    tls_mode: values.tls_mode,
    https_redirect: values.https_redirect,
    target_addr: values.target_addr.trim(),
    enabled: values.enabled,
    health_check: values.health_check,
    ...accessInput(values),
  };
}

type Field = 'type' | 'domain' | 'path_prefix' | 'tls_mode' | 'listen_addr' | 'target_addr' | 'https_redirect'
  | 'auth' | 'ip_allow' | 'ip_deny' | 'rate_limit' | 'health_check';
type Problems = Partial<Record<Field, string>>;

/** A host name as the API takes it (Hostnames.isHostnameOrWildcard): labels of letters, digits and dashes, one or more. */
const DOMAIN = /^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i;
/** A name beyond ASCII (bücher.example): the server takes it in its xn-- form, and checks it then. */
const BEYOND_ASCII = /[^\x00-\x7f]/;
const HOST_PORT = /^(\[[0-9a-f:.]+\]|[a-z0-9\u0080-\uffff]([a-z0-9\u0080-\uffff.-]*[a-z0-9\u0080-\uffff])?)?:(\d{1,5})$/i;
/** As HOST_PORT, and '_' in a name, as the server takes a target: Docker names containers so (my_app:8080). */
const TARGET = /^(\[[0-9a-f:.]+\]|[a-z0-9_\u0080-\uffff]([a-z0-9_\u0080-\uffff.-]*[a-z0-9_\u0080-\uffff])?)?:(\d{1,5})$/i;

function portIn(text: string, lowest = 1, pattern = HOST_PORT): number | null {
  const match = pattern.exec(text.trim());
  if (!match) return null;
  const port = Number(match[3]);
  return port >= lowest && port <= 65535 ? port : null;
}

/**
 * What the API refuses in a well-formed name (ServiceInput): an IP address, or any name whose last label is a
 * number, decimal or hexadecimal ("0x7f"), which browsers read as one; a wildcard over a single label. Null when the
 * name is fine.
 */
function notADomain(domain: string): string | null {
  const wildcard = domain.startsWith('*.');
  const name = wildcard ? domain.slice(2) : domain;
  if (/^(\d+|0x[0-9a-f]*)$/i.test(name.split('.').pop() ?? '')) {
    return `${isolated(domain)} is read as an IP address (its last part is a number), not a domain name: use a name such as app.example.com.`;
  }
  if (wildcard && !name.includes('.')) {
    return `${isolated(domain)} would take every name under ${isolated(`.${name}`)}: a wildcard needs two parts or more after *., such as *.example.com.`;
  }
  return null;
}

/** Whether `domain` names the stored one, in its xn-- form or in the Unicode the form shows it in. */
function isStored(domain: string, stored?: string): boolean {
  return stored !== undefined && [stored, unicodeHost(stored)].some((name) => name.toLowerCase() === domain.toLowerCase());
}

/**
 * Every mistake in the form at once, in words, by field; empty when the server may be asked. {@code storedDomain}:
 * the service's domain when editing, which stays accepted as the API accepts it (stored before a rule was added).
 */
export function problemsOf(values: Values, storedDomain?: string): Problems {
  const problems: Problems = {};
  if (values.type === 'http') {
    const domain = values.domain.trim();
    if (!domain) {
      problems.domain = 'Enter the domain visitors will use, such as app.example.com.';
    } else if (!BEYOND_ASCII.test(domain) && !DOMAIN.test(domain)) {
      problems.domain = 'This is not a domain name: use letters, digits, dots and dashes, such as app.example.com or *.example.com.';
    } else if (!isStored(domain, storedDomain)) {
      const refused = notADomain(domain);
      if (refused) {
        problems.domain = refused;
      }
    }
    const path = values.path_prefix.trim() || '/';
    if (!path.startsWith('/')) {
      problems.path_prefix = 'The path must start with /, such as /api.';
    } else if (values.tls_mode === 'passthrough' && path !== '/') {
      problems.path_prefix = 'A pass-through service takes the whole domain: leave the path as /.';
    }
    if (values.tls_mode !== 'passthrough' && values.auth_type === 'oidc' && !values.auth_allow_all
      && entries(values.auth_emails).length === 0 && entries(values.auth_groups).length === 0) {
      problems.auth = 'List the emails or groups that may sign in, or tick “Allow every user of the identity provider”.';
    }
  } else {
    const listen = values.listen_addr.trim();
    if (!listen) {
      problems.listen_addr = 'Enter the port the server should listen on, such as 0.0.0.0:2222 or :2222.';
    } else if (portIn(listen, 0) === null) {
      problems.listen_addr = 'Write the listen address as address:port or :port, with a port from 1 to 65535 (0: any free port), such as 0.0.0.0:2222.';
    }
  }
  const target = values.target_addr.trim();
  if (!target) {
    problems.target_addr = 'Enter where the client forwards to, such as localhost:8080.';
  } else if (portIn(target, 1, TARGET) === null || target.startsWith(':')) {
    problems.target_addr = 'Write the target as host:port, such as localhost:8080 or 192.168.1.10:22.';
  }
  return problems;
}

/** The API's field names, as the form calls them. */
const FIELD_WORDS: Record<string, string> = {
  domain: 'domain ', path_prefix: 'path ', tls_mode: 'TLS mode ', listen_addr: 'listen address ', target_addr: 'target ',
  https_redirect: 'redirect ', type: 'type ', auth: 'sign-in ', ip_allow: 'allowed addresses ',
  ip_deny: 'denied addresses ', rate_limit: 'rate limit ', per_second: 'per second ', health_check: 'health check ',
  allow_all: 'allow every user ', allowed_emails: 'allowed emails ', allowed_groups: 'allowed groups ',
};
const FIELD_NAMES = new RegExp(`\\b(${Object.keys(FIELD_WORDS).join('|')})\\b:?\\s*`, 'g');

/**
 * The server's message in the UI's words: without the API's field names (the form shows the message next to the
 * field) and without ids of other services, which the UI never shows.
 */
export function plainMessage(message: string): string {
  let text = message
    .replace(FIELD_NAMES, (_, field: string) => FIELD_WORDS[field] ?? '')
    .replace(/\bservice [0-9a-f]{8,}\b/gi, 'another service of this server')
    .replace(/\s+/g, ' ')
    .replace(/ ([,;:])/g, '$1')
    .trim();
  if (text) text = text[0].toUpperCase() + text.slice(1);
  return /[.!?]$/.test(text) ? text : `${text}.`;
}

/**
 * Add or edit a service. The form checks every field first and shows each mistake next to its field, all at once;
 * then the server validates, and its error, in plain words, goes next to the field it names or above the buttons.
 * The type of an existing service cannot change (delete it and add another).
 */
export function ServiceForm({
  service,
  onSubmit,
  onCancel,
}: {
  service?: Service;
  onSubmit: (input: ServiceInput) => Promise<void>;
  onCancel: () => void;
}) {
  const [values, setValues] = useState<Values>(() => initialValues(service));
  const [error, setError] = useState<ApiError | null>(null);
  const [problems, setProblems] = useState<Problems>({});
  const [busy, setBusy] = useState(false);
  const id = useId();

  const set = <K extends keyof Values>(key: K, value: Values[K]) => setValues((v) => ({ ...v, [key]: value }));

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    const found = problemsOf(values, service?.domain ?? undefined);
    setProblems(found);
    const first = (Object.keys(found) as Field[])[0];
    if (first) {
      document.getElementById(`${id}-${first}`)?.focus();
      return;
    }
    setBusy(true);
    try {
      await onSubmit(withStoredNames(toInput(values), service));
    } catch (e) {
      const apiError = e instanceof ApiError ? e : new ApiError(0, 'unexpected', String(e), null);
      setError(apiError);
      if (apiError.field) {
        document.getElementById(`${id}-${apiError.field}`)?.focus();
      }
    } finally {
      setBusy(false);
    }
  };

  const fieldError = (field: Field) =>
    problems[field] ?? (error && error.field === field ? plainMessage(error.message) : null);
  const generalError =
    error && (!error.field || !shownFields(values.type).includes(error.field)) ? plainMessage(error.message) : null;
  const problemCount = Object.keys(problems).length;

  const text = (field: 'domain' | 'path_prefix' | 'listen_addr' | 'target_addr', label: string, hint: string, placeholder: string) => {
    const message = fieldError(field);
    return (
      <div className="field">
        <label className="field-label" htmlFor={`${id}-${field}`}>{label}</label>
        <input
          id={`${id}-${field}`}
          className="input mono"
          value={values[field]}
          placeholder={placeholder}
          autoComplete="off"
          spellCheck={false}
          aria-invalid={message ? true : undefined}
          aria-describedby={`${id}-${field}-hint${message ? ` ${id}-${field}-error` : ''}`}
          onChange={(e) => set(field, e.target.value)}
        />
        <p className="hint" id={`${id}-${field}-hint`}>{hint}</p>
        {message && <p className="field-error" id={`${id}-${field}-error`}><WithHostNames text={message} /></p>}
      </div>
    );
  };

  const passthrough = values.type === 'http' && values.tls_mode === 'passthrough';

  const area = (field: 'ip_allow' | 'ip_deny' | 'auth_emails' | 'auth_groups', label: string, hint: string, placeholder: string) => {
    const message = field === 'ip_allow' || field === 'ip_deny' ? fieldError(field) : null;
    return (
      <div className="field">
        <label className="field-label" htmlFor={`${id}-${field}`}>{label}</label>
        <textarea
          id={`${id}-${field}`}
          className="input mono"
          rows={2}
          value={values[field]}
          placeholder={placeholder}
          spellCheck={false}
          aria-invalid={message ? true : undefined}
          aria-describedby={`${id}-${field}-hint${message ? ` ${id}-${field}-error` : ''}`}
          onChange={(e) => set(field, e.target.value)}
        />
        <p className="hint" id={`${id}-${field}-hint`}>{hint}</p>
        {message && <p className="field-error" id={`${id}-${field}-error`}>{message}</p>}
      </div>
    );
  };

  const plain = (field: 'auth_username' | 'auth_password', label: string, type: string, hint?: string) => (
    <div className="field">
      <label className="field-label" htmlFor={`${id}-${field}`}>{label}</label>
      <input
        id={`${id}-${field}`}
        className="input"
        type={type}
        autoComplete={type === 'password' ? 'new-password' : 'off'}
        value={values[field]}
        onChange={(e) => set(field, e.target.value)}
      />
      {hint && <p className="hint">{hint}</p>}
    </div>
  );

  return (
    <form onSubmit={submit} noValidate className="service-form">
      {service ? (
        <div className="field">
          <span className="field-label" id={`${id}-type`}>Type</span>
          <p className="fixed-value">
            {service.type === 'http' ? 'HTTP(S) — by domain' : 'TCP — by port'}
            <span className="hint"> The type cannot change: delete this service and add another to change it.</span>
          </p>
        </div>
      ) : (
      <fieldset className="field">
        <legend className="field-label">Type</legend>
        <div className="segmented">
          {(['http', 'tcp'] as const).map((type) => (
            <label key={type} className={`segment ${values.type === type ? 'segment-active' : ''}`}>
              <input
                type="radio"
                name={`${id}-type`}
                id={type === 'http' ? `${id}-type` : undefined}
                value={type}
                checked={values.type === type}
                onChange={() => set('type', type)}
              />
              {type === 'http' ? 'HTTP(S) — by domain' : 'TCP — by port'}
            </label>
          ))}
        </div>
        {fieldError('type') && <p className="field-error">{fieldError('type')}</p>}
      </fieldset>
      )}

      {values.type === 'http' ? (
        <>
          {text('domain', 'Domain', `The public hostname. Point its DNS at this server.${storedAs(service?.domain, values.domain)}`,
            'app.example.com')}
          {text('path_prefix', 'Path prefix', 'Requests whose path starts with this go to the service.', '/')}
          <div className="field">
            <label className="field-label" htmlFor={`${id}-tls_mode`}>TLS</label>
            <select
              id={`${id}-tls_mode`}
              className="input"
              value={values.tls_mode}
              aria-invalid={fieldError('tls_mode') ? true : undefined}
              aria-describedby={`${id}-tls_mode-hint`}
              onChange={(e) => set('tls_mode', e.target.value as TlsMode)}
            >
              <option value="terminate">Terminate on the server (certificate by the server)</option>
              <option value="passthrough">Pass through (the service holds the certificate)</option>
            </select>
            <p className="hint" id={`${id}-tls_mode-hint`}>Where HTTPS is decrypted.</p>
            {fieldError('tls_mode') && <p className="field-error">{fieldError('tls_mode')}</p>}
          </div>
          <div className="field check-field">
            <input
              id={`${id}-https_redirect`}
              type="checkbox"
              checked={values.https_redirect}
              onChange={(e) => set('https_redirect', e.target.checked)}
            />
            <label htmlFor={`${id}-https_redirect`}>Redirect plain HTTP to HTTPS</label>
            {fieldError('https_redirect') && <p className="field-error">{fieldError('https_redirect')}</p>}
          </div>
        </>
      ) : (
        text('listen_addr', 'Listen address', 'The address and port the server listens on, e.g. 0.0.0.0:2222; port 0 (0.0.0.0:0) lets the server choose a free one.', '0.0.0.0:2222')
      )}
      {text('target_addr', 'Target', 'Where the client forwards to, seen from the client’s machine.', 'localhost:8080')}

      <fieldset className="field access-fields">
        <legend className="field-label">Access</legend>
        {area('ip_allow', 'Allowed addresses', 'One address or CIDR per line (IPv4 or IPv6). Empty: everyone.', '203.0.113.0/24')}
        {!passthrough && area('ip_deny', 'Denied addresses', 'Always refused, even when allowed above.', '198.51.100.7')}
        <div className="field">
          <label className="field-label" htmlFor={`${id}-rate_limit`}>Rate limit per visitor</label>
          <div className="inline-inputs">
            <input
              id={`${id}-rate_limit`}
              className="input mono"
              inputMode="decimal"
              placeholder="per second"
              aria-label="Per second"
              value={values.rate_per_second}
              aria-invalid={fieldError('rate_limit') ? true : undefined}
              onChange={(e) => set('rate_per_second', e.target.value)}
            />
            <input
              className="input mono"
              inputMode="numeric"
              placeholder="burst"
              aria-label="Burst"
              value={values.rate_burst}
              onChange={(e) => set('rate_burst', e.target.value)}
            />
          </div>
          <p className="hint">
            {values.type === 'http' && !passthrough ? 'Requests' : 'New connections'} per second from one address, and how
            many at once. Empty: no limit.
          </p>
          {fieldError('rate_limit') && <p className="field-error">{fieldError('rate_limit')}</p>}
        </div>
        {values.type === 'http' && !passthrough && (
          <div className="field">
            <label className="field-label" htmlFor={`${id}-auth`}>Sign-in</label>
            <select
              id={`${id}-auth`}
              className="input"
              value={values.auth_type}
              aria-invalid={fieldError('auth') ? true : undefined}
              aria-describedby={fieldError('auth') ? `${id}-auth-error` : undefined}
              onChange={(e) => set('auth_type', e.target.value as AuthType)}
            >
              <option value="none">None: open to every visitor</option>
              <option value="basic">Password (HTTP basic authentication)</option>
              <option value="oidc">Single sign-on (this server’s OIDC provider)</option>
            </select>
            {values.auth_type === 'basic' && (
              <>
                {plain('auth_username', 'User name', 'text')}
                {plain('auth_password', 'Password', 'password',
                  service?.auth?.type === 'basic' ? 'Leave empty to keep the current password.' : 'At least 8 characters; stored only as a hash.')}
              </>
            )}
            {values.auth_type === 'oidc' && (
              <>
                <div className="field check-field">
                  <input
                    id={`${id}-auth_allow_all`}
                    type="checkbox"
                    checked={values.auth_allow_all}
                    aria-describedby={`${id}-auth_allow_all-hint`}
                    onChange={(e) => set('auth_allow_all', e.target.checked)}
                  />
                  <label htmlFor={`${id}-auth_allow_all`}>Allow every user of the identity provider</label>
                  <p className="hint" id={`${id}-auth_allow_all-hint`}>
                    Instead of a list: anyone with an account at the provider may sign in. With Google, GitHub or
                    another public provider, that is anyone on the internet.
                  </p>
                </div>
                {!values.auth_allow_all && (
                  <>
                    {area('auth_emails', 'Allowed emails', 'Verified emails that may sign in, one per line.', 'alice@example.com')}
                    {area('auth_groups', 'Allowed groups', 'Or members of these groups.', 'staff')}
                  </>
                )}
              </>
            )}
            {fieldError('auth') && <p className="field-error" id={`${id}-auth-error`}>{fieldError('auth')}</p>}
          </div>
        )}
      </fieldset>

      <div className="field check-field">
        <input
          id={`${id}-health_check`}
          type="checkbox"
          checked={values.health_check}
          aria-describedby={`${id}-health_check-hint`}
          onChange={(e) => set('health_check', e.target.checked)}
        />
        <label htmlFor={`${id}-health_check`}>Health check</label>
        <p className="hint" id={`${id}-health_check-hint`}>
          {values.type === 'tcp'
            ? 'The probe opens a connection to the target at every check interval: a server that serves one client and'
              + ' then exits may take the probe as its client.'
            : 'The probe requests the health path through the tunnel at every check interval.'}
        </p>
        {fieldError('health_check') && <p className="field-error">{fieldError('health_check')}</p>}
      </div>

      <div className="field check-field">
        <input id={`${id}-enabled`} type="checkbox" checked={values.enabled} onChange={(e) => set('enabled', e.target.checked)} />
        <label htmlFor={`${id}-enabled`}>Enabled</label>
      </div>

      {generalError && <p className="form-error" role="alert"><WithHostNames text={generalError} /></p>}
      {error && !generalError && (
        <p className="visually-hidden" role="alert">{plainMessage(error.message)}</p>
      )}
      {problemCount > 0 && (
        <p className="visually-hidden" role="alert">
          {problemCount === 1 ? 'One field needs a fix.' : `${problemCount} fields need a fix.`}
        </p>
      )}

      <div className="modal-actions">
        <button type="button" className="btn" onClick={onCancel}>Cancel</button>
        <button type="submit" className="btn btn-primary" disabled={busy}>
          {busy ? 'Saving…' : service ? 'Save changes' : 'Add service'}
        </button>
      </div>
    </form>
  );
}

function shownFields(type: ServiceType): string[] {
  return type === 'http'
    ? ['type', 'domain', 'path_prefix', 'tls_mode', 'target_addr', 'https_redirect', 'auth', 'ip_allow', 'ip_deny', 'rate_limit',
      'health_check']
    : ['type', 'listen_addr', 'target_addr', 'ip_allow', 'ip_deny', 'rate_limit', 'health_check'];
}

/** " Stored as xn--…." while the domain field shows a stored name in Unicode, else nothing. */
function storedAs(stored: string | null | undefined, shown: string): string {
  return stored && shown.trim() === unicodeHost(stored) && shown.trim() !== stored ? ` Stored as ${stored}.` : '';
}
