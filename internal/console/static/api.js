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

export function tenantId() { return tenant; }

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

// A well-formed user ID that names nobody: a write to it shows whether the
// key holds users:write (404) or not (403), without reading or writing.
const NOBODY = 'usr_00000000000000000000000000';

// probeScopes asks the API what the key may do, since no route tells a
// key's scopes: each answer is {ok, reason}, the reason being the API's own
// refusal. It throws when the key itself is refused (401, or a platform key
// without a tenant).
export async function probeScopes() {
  const probe = async (method, path, opts, allowed) => {
    try {
      await call(method, path, opts);
      return { ok: true, reason: '' };
    } catch (err) {
      if (err.status === 403 && err.code === 'insufficient_scope') return { ok: false, reason: err.message };
      if (allowed.includes(err.status)) return { ok: true, reason: '' };
      throw err;
    }
  };
  const read = await probe('GET', '/v1/users', { query: { limit: 1 } }, []);
  const write = await probe('PATCH', `/v1/users/${NOBODY}`, { body: {}, query: { dry_run: 'true' } }, [404]);
  const admin = await probe('GET', '/v1/policies', {}, []);
  return { read, write, admin };
}

// fieldOf names the form field an error of `errors` is about: `metadata.a`
// and `roles[2]` are errors of metadata and roles.
export function fieldOf(name) {
  return String(name).split(/[.[/]/)[0];
}
