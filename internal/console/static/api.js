// Every request of the console is an ordinary API call with the operator's
// key, so scopes and policies apply to it exactly as to any client. The key
// lives in this module and in sessionStorage (this tab only), never in a
// URL, a cookie or a log.

const KEY = 'roster.key';
const TENANT = 'roster.tenant';

let key = sessionStorage.getItem(KEY);
let tenant = sessionStorage.getItem(TENANT) || '';

export function signedIn() { return !!key; }

export function signIn(k, t) {
  key = k;
  tenant = t || '';
  sessionStorage.setItem(KEY, key);
  if (tenant) sessionStorage.setItem(TENANT, tenant); else sessionStorage.removeItem(TENANT);
}

export function signOut() {
  key = null;
  tenant = '';
  sessionStorage.removeItem(KEY);
  sessionStorage.removeItem(TENANT);
}

// ApiError is a problem (RFC 9457) the API answered.
export class ApiError extends Error {
  constructor(status, p, headers) {
    super(p.detail || p.title || `HTTP ${status}`);
    this.status = status;
    this.code = p.code || '';
    this.title = p.title || '';
    this.errors = Array.isArray(p.errors) ? p.errors : [];
    this.notices = Array.isArray(p.notices) ? p.notices : [];
    this.requestId = p.request_id || headers.get('X-Request-Id') || '';
  }
}

// call makes one API request and answers {status, data, etag, headers};
// a non-2xx answer throws an ApiError. A 401 signs out: the key is no good.
export async function call(method, path, opts = {}) {
  if (!key) throw new ApiError(401, { code: 'unauthenticated', detail: 'Sign in first.' }, new Headers());
  const headers = { Authorization: `Bearer ${key}`, Accept: opts.raw ? '*/*' : 'application/json' };
  if (tenant) headers['X-Tenant-ID'] = tenant;
  if (opts.ifMatch) headers['If-Match'] = opts.ifMatch;
  let body;
  if (opts.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(opts.body);
  }
  const url = new URL(path, location.origin);
  for (const [k, v] of Object.entries(opts.query || {})) {
    if (v !== undefined && v !== null && v !== '') url.searchParams.set(k, v);
  }
  const res = await fetch(url, { method, headers, body, cache: 'no-store', credentials: 'omit', referrerPolicy: 'no-referrer' });
  if (opts.raw && res.ok) return res;
  const text = await res.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  if (!res.ok) {
    const err = new ApiError(res.status, data || {}, res.headers);
    if (res.status === 401) {
      signOut();
      dispatchEvent(new CustomEvent('roster:signedout', { detail: err.message }));
    }
    throw err;
  }
  return { status: res.status, data, etag: res.headers.get('ETag'), headers: res.headers };
}

// SCOPES are what the console may do, each with the scope it needs; a key
// holds a scope itself, through admin (which includes the users scopes), or
// as a platform key (which has every scope in the tenant it names).
const SCOPES = { read: 'users:read', write: 'users:write', admin: 'admin' };

// scopesOf answers, for a key as GET /v1/keys/self answers it, each of
// SCOPES as {ok, reason}: the reason is why a control is disabled.
export function scopesOf(k) {
  const has = s => k.scopes.includes(s) || k.scopes.includes('platform') ||
    (k.scopes.includes('admin') && s.startsWith('users:'));
  const out = {};
  for (const [name, scope] of Object.entries(SCOPES)) {
    out[name] = has(scope) ? { ok: true, reason: '' } : { ok: false, reason: `This API key lacks the ${scope} scope.` };
  }
  return out;
}

// whoami reads the key the console signed in with (GET /v1/keys/self, which
// any key may call) and, when the key may read the tenant, the tenant it
// acts in (GET /v1/tenant): its role catalog and settings, such as the
// deletion grace period. It throws when the key itself is refused (401), or
// when the tenant is (a platform key without a tenant, a tenant that does
// not exist or is not the key's).
export async function whoami() {
  const k = (await call('GET', '/v1/keys/self')).data;
  const scopes = scopesOf(k);
  const t = scopes.read.ok || k.tenant_id === null ? (await call('GET', '/v1/tenant')).data : null;
  return { key: k, scopes, tenant: t };
}

// fieldOf names the form field an error of `errors` is about: `metadata.a`
// and `roles[2]` are errors of metadata and roles.
export function fieldOf(name) {
  return String(name).split(/[.[/]/)[0];
}
