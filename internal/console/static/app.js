// The console's entry point: sign-in, the key's scopes, and the routes of
// the page (#/users, #/users/{id}, #/settings), kept in the URL's fragment,
// which holds no secret.
import * as api from './api.js';
import { $, clear, status, problemText } from './dom.js';
import * as users from './users.js';
import * as user from './user.js';
import * as settings from './settings.js';

// ctx is what the signed-in key may do (scopes), the key itself and its
// tenant (null for a key that may not read it).
const ctx = { scopes: null, key: null, tenant: null };

function showView(name) {
  for (const v of document.querySelectorAll('.view')) v.hidden = v.id !== `view-${name}`;
  for (const a of document.querySelectorAll('[data-nav]')) {
    if (a.dataset.nav === name || (name === 'user' && a.dataset.nav === 'users')) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  $('#nav').hidden = name === 'signin';
}

function showScopes() {
  const s = ctx.scopes;
  const names = [['read', 'users:read'], ['write', 'users:write'], ['admin', 'admin']];
  const kind = ctx.key.tenant_id === null ? 'Platform key' : 'Key';
  clear($('#scopes'), `${kind} “${ctx.key.name}”: `, names.filter(([k]) => s[k].ok).map(([, n]) => n).join(', ') || 'no scope');
}

async function route() {
  if (!api.signedIn()) {
    showView('signin');
    $('#signin-key').focus();
    return;
  }
  if (!ctx.scopes) {
    try {
      Object.assign(ctx, await api.whoami());
    } catch (err) {
      if (err.status !== 401) api.signOut();
      signinError(err);
      return;
    }
    showScopes();
  }
  status('');
  const hash = location.hash || '#/users';
  let m;
  if ((m = hash.match(/^#\/users\/(usr_[0-9A-Za-z]+)$/))) {
    showView('user');
    await user.render($('#view-user'), ctx, m[1]);
    focusTitle('#view-user h1');
  } else if (hash === '#/settings') {
    showView('settings');
    await settings.render($('#view-settings'), ctx);
    focusTitle('#view-settings h1');
  } else {
    showView('users');
    users.render(ctx);
    if (!$('#search-q').disabled) $('#search-q').focus();
  }
}

// focusTitle moves the focus to a new screen's title, so that keyboard and
// screen reader users start there rather than on a control that is gone.
function focusTitle(sel) {
  const el = $(sel);
  if (!el) return;
  el.tabIndex = -1;
  el.focus();
}

function signinError(err) {
  showView('signin');
  const field = err.errors.some(e => e.field === 'X-Tenant-ID') || /X-Tenant-ID/.test(err.message) ? 'tenant' : 'key';
  $(`#signin-${field}-err`).textContent = problemText(err);
  $(`#signin-${field}`).setAttribute('aria-invalid', 'true');
  $(`#signin-${field}`).focus();
}

function onSignIn(ev) {
  ev.preventDefault();
  for (const f of ['key', 'tenant']) {
    $(`#signin-${f}-err`).textContent = '';
    $(`#signin-${f}`).removeAttribute('aria-invalid');
  }
  const k = $('#signin-key').value.trim();
  if (!k) {
    $('#signin-key-err').textContent = 'Paste an API key.';
    $('#signin-key').setAttribute('aria-invalid', 'true');
    $('#signin-key').focus();
    return;
  }
  api.signIn(k, $('#signin-tenant').value.trim());
  $('#signin-key').value = '';
  forget();
  status('');
  route();
}

// forget drops what the console knows of the key and its tenant.
function forget() {
  ctx.scopes = null;
  ctx.key = null;
  ctx.tenant = null;
}

function onSignOut() {
  api.signOut();
  forget();
  users.reset();
  clear($('#view-user'));
  clear($('#view-settings'));
  status('Signed out: this tab forgot the key.');
  location.hash = '#/users';
  route();
}

addEventListener('roster:signedout', ev => {
  forget();
  showView('signin');
  $('#signin-key-err').textContent = `The API refused the key: ${ev.detail}`;
});
addEventListener('hashchange', () => route());
addEventListener('unhandledrejection', ev => {
  const err = ev.reason;
  status(err instanceof api.ApiError ? problemText(err) : String(err), 'error');
});

$('#signin-form').addEventListener('submit', onSignIn);
$('#signout').addEventListener('click', onSignOut);
users.init();
route();
