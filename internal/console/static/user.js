// Inspect and fix one user: every field, the edit form (only what changed,
// guarded by If-Match), the dry run, lifecycle actions and the history.
import * as api from './api.js';
import { $, h, clear, time, json, status, confirm, problemText } from './dom.js';

// MAX_PICTURE is the API's limit of a stored picture's bytes.
const MAX_PICTURE = 256 * 1024;

// FIELDS are the writable members, in the order the form shows them.
const FIELDS = [
  { name: 'email', label: 'Email' },
  { name: 'email_verified', label: 'Email verified', kind: 'bool' },
  { name: 'username', label: 'Username' },
  { name: 'name', label: 'Name' },
  { name: 'given_name', label: 'Given name' },
  { name: 'family_name', label: 'Family name' },
  { name: 'company', label: 'Company' },
  { name: 'website', label: 'Website', hint: 'https://…' },
  { name: 'bio', label: 'Bio', kind: 'text' },
  { name: 'birthdate', label: 'Birthdate', hint: 'YYYY-MM-DD' },
  { name: 'country', label: 'Country', hint: 'ISO 3166-1 code, e.g. FR' },
  { name: 'locale', label: 'Locale', hint: 'BCP 47, e.g. fr-FR' },
  { name: 'zoneinfo', label: 'Time zone', hint: 'IANA name, e.g. Europe/Paris' },
  { name: 'consented_at', label: 'Consented at', hint: 'RFC 3339 time' },
  { name: 'consent_method', label: 'Consent method', kind: 'select', options: ['', 'opt-in', 'text-ref'] },
  { name: 'location', label: 'Location', kind: 'json', hint: 'GeoJSON Point, or null' },
  { name: 'metadata', label: 'Metadata', kind: 'json', hint: 'a JSON object' },
  { name: 'roles', label: 'Roles', kind: 'roles' },
  { name: 'picture', label: 'Picture', kind: 'picture' },
];
const LABELS = Object.fromEntries(FIELDS.map(f => [f.name, f.label]));

// st is the state of the user on screen.
let st = null;

export async function render(root, ctx, id) {
  clear(root, h('p', { class: 'note' }, 'Loading…'));
  if (!ctx.scopes.read.ok) {
    clear(root, h('h1', { id: 'user-title' }, 'User'), h('p', { class: 'note' }, `Reading a user needs the users:read scope: ${ctx.scopes.read.reason}`));
    return;
  }
  // The tenant is read again with the user: its role catalog and deletion
  // grace period may have changed since the sign-in.
  let res, tenant;
  try {
    [res, tenant] = await Promise.all([api.call('GET', `/v1/users/${id}`), api.call('GET', '/v1/tenant')]);
  } catch (err) {
    clear(root, h('h1', { id: 'user-title' }, 'User'), h('p', { class: 'problem', role: 'alert' }, problemText(err)), h('a', { href: '#/users' }, 'Back to the list'));
    return;
  }
  ctx.tenant = tenant.data;
  st = { ctx, root, id, user: res.data, etag: res.etag, catalog: tenant.data.roles, grace: tenant.data.settings.deletion_grace_seconds, picture: undefined, historyCursor: null };
  draw();
  loadHistory(false);
  loadPicture();
}

function canWrite() { return st.ctx.scopes.write.ok; }

function whyNotWrite() {
  if (!canWrite()) return `Needs the users:write scope: ${st.ctx.scopes.write.reason}`;
  if (st.user.status === 'deleting') return 'The user is being deleted: restore it to change it.';
  return '';
}

function draw() {
  const u = st.user;
  const title = u.name || u.email || u.username || u.id;
  clear(st.root,
    h('p', {}, h('a', { href: '#/users' }, '← Users')),
    h('div', { class: 'user-head' },
      h('div', { class: 'avatar', id: 'user-picture', 'aria-hidden': 'true' }, initials(u)),
      h('div', {},
        h('h1', { id: 'user-title' }, title),
        h('p', { class: 'muted' }, u.id, ' · version ', h('span', { id: 'user-version' }, String(u.version))),
        h('p', {}, badges(u)))),
    h('div', { id: 'conflict', class: 'conflict', role: 'alert', tabindex: '-1', hidden: true }),
    h('div', { class: 'columns' },
      h('section', { class: 'panel', 'aria-labelledby': 'fields-title' }, h('h2', { id: 'fields-title' }, 'Fields'), facts(u)),
      h('section', { class: 'panel', 'aria-labelledby': 'edit-title' }, h('h2', { id: 'edit-title' }, 'Edit'), form())),
    h('section', { class: 'panel', 'aria-labelledby': 'life-title' }, h('h2', { id: 'life-title' }, 'Lifecycle'), lifecycle()),
    h('section', { class: 'panel', 'aria-labelledby': 'history-title' },
      h('h2', { id: 'history-title' }, 'History'),
      h('ol', { id: 'history', class: 'history' }),
      h('button', { type: 'button', id: 'history-more', hidden: true, onclick: () => loadHistory(true) }, 'Older changes')));
}

function initials(u) {
  const s = u.name || u.email || u.username || '?';
  return s.trim().slice(0, 1).toUpperCase();
}

function badges(u) {
  const out = [h('span', { class: `badge ${u.status}` }, u.status)];
  if (u.suspensions.length) out.push(h('span', { class: 'badge suspended' }, 'suspended'));
  if (u.is_owner) out.push(h('span', { class: 'badge owner' }, 'tenant owner'));
  return out;
}

function facts(u) {
  const rows = [];
  const add = (k, v) => rows.push(h('dt', {}, k), h('dd', {}, v));
  for (const f of FIELDS) add(f.label, show(u[f.name]));
  add('Status', u.status);
  if (u.status === 'deleting') add('Erased after', time(u.purge_after));
  add('Deactivated', String(u.deactivated));
  add('Owner', String(u.is_owner));
  add('Auth provider', u.auth_provider);
  add('Created', time(u.created_at));
  add('Updated', time(u.updated_at));
  add('Version', String(u.version));
  add('Tenant', u.tenant_id);
  return h('dl', { class: 'facts', id: 'facts' }, rows);
}

function show(v) {
  if (v === null || v === undefined) return h('span', { class: 'muted' }, '—');
  if (Array.isArray(v)) return v.length ? v.join(', ') : h('span', { class: 'muted' }, 'none');
  if (typeof v === 'object') return h('code', {}, JSON.stringify(v));
  return String(v);
}

// --- the edit form

function form() {
  const why = whyNotWrite();
  return h('form', { id: 'edit-form', novalidate: true, onsubmit: ev => { ev.preventDefault(); save(false); } },
    why ? h('p', { class: 'note', id: 'edit-why' }, why) : null,
    h('fieldset', { disabled: !!why }, h('legend', { class: 'visually-hidden' }, 'Writable fields'), FIELDS.map(control)),
    h('div', { class: 'actions' },
      h('button', { type: 'button', id: 'edit-dry-run', disabled: !!why, title: why || null, onclick: () => save(true) }, 'Dry run'),
      h('button', { type: 'submit', id: 'edit-save', disabled: !!why, title: why || null }, 'Save changes')),
    // below the buttons, so that what appears moves nothing one may click
    h('div', { id: 'edit-problem', class: 'problem', role: 'alert' }),
    h('div', { id: 'dry-run', class: 'dry-run', hidden: true }));
}

function control(fd) {
  const id = `f-${fd.name}`;
  const err = h('p', { class: 'field-error', id: `${id}-err`, 'aria-live': 'polite' });
  const hint = fd.hint ? h('p', { class: 'hint', id: `${id}-hint` }, fd.hint) : null;
  const described = [hint ? `${id}-hint` : null, `${id}-err`].filter(Boolean).join(' ');
  const v = st.user[fd.name];
  let input;
  switch (fd.kind) {
    case 'bool':
      return h('div', { class: 'field check', 'data-field': fd.name },
        h('input', { id, type: 'checkbox', checked: !!v, 'aria-describedby': described }),
        h('label', { for: id }, fd.label), err);
    case 'text':
      input = h('textarea', { id, rows: 3, 'aria-describedby': described });
      input.value = v ?? '';
      break;
    case 'json':
      input = h('textarea', { id, rows: 3, spellcheck: 'false', class: 'mono', 'aria-describedby': described });
      input.value = v === null ? '' : JSON.stringify(v, null, 1);
      break;
    case 'select':
      input = h('select', { id, 'aria-describedby': described }, fd.options.map(o => h('option', { value: o }, o || '(none)')));
      input.value = v ?? '';
      break;
    case 'roles':
      return h('fieldset', { class: 'field roles', 'data-field': fd.name, 'aria-describedby': `${id}-err` },
        h('legend', {}, fd.label),
        st.catalog.map(r => h('span', { class: 'check' },
          h('input', { type: 'checkbox', id: `${id}-${r}`, name: 'roles', value: r, checked: v.includes(r) }),
          h('label', { for: `${id}-${r}` }, r))),
        // a role the user holds but the catalog lost is shown, to be removed
        v.filter(r => !st.catalog.includes(r)).map(r => h('span', { class: 'check' },
          h('input', { type: 'checkbox', id: `${id}-${r}`, name: 'roles', value: r, checked: true }),
          h('label', { for: `${id}-${r}` }, `${r} (not in the catalog)`))),
        err);
    case 'picture':
      return h('div', { class: 'field', 'data-field': fd.name },
        h('label', { for: id }, `${fd.label} (PNG, JPEG, GIF or WebP, at most 256 KiB)`),
        h('input', { id, type: 'file', accept: 'image/png,image/jpeg,image/gif,image/webp', 'aria-describedby': `${id}-err`, onchange: pickPicture }),
        v ? h('span', { class: 'check' }, h('input', { id: `${id}-remove`, type: 'checkbox', onchange: () => { st.picture = undefined; } }), h('label', { for: `${id}-remove` }, 'Remove the picture')) : null,
        err);
    default:
      input = h('input', { id, type: 'text', autocomplete: 'off', spellcheck: 'false', 'aria-describedby': described });
      input.value = v ?? '';
  }
  return h('div', { class: 'field', 'data-field': fd.name }, h('label', { for: id }, fd.label), input, hint, err);
}

async function pickPicture(ev) {
  const file = ev.target.files[0];
  const err = $('#f-picture-err');
  err.textContent = '';
  st.picture = undefined;
  if (!file) return;
  if (file.size > MAX_PICTURE) {
    err.textContent = `This file is ${Math.ceil(file.size / 1024)} KiB: at most 256 KiB is accepted.`;
    ev.target.value = '';
    return;
  }
  st.picture = await new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => resolve(r.result);
    r.onerror = () => reject(r.error);
    r.readAsDataURL(file);
  });
}

// formValue reads one field; it throws a message for a value that cannot
// even be sent (JSON that does not parse).
function formValue(fd) {
  const el = $(`#f-${fd.name}`);
  switch (fd.kind) {
    case 'bool': return el.checked;
    case 'json': {
      const t = el.value.trim();
      if (t === '') return fd.name === 'metadata' ? {} : null;
      try { return JSON.parse(t); } catch (e) { throw `is not valid JSON: ${e.message}`; }
    }
    case 'roles': return [...st.root.querySelectorAll('input[name=roles]:checked')].map(i => i.value);
    case 'picture': {
      if (st.picture) return st.picture;
      const rm = $('#f-picture-remove');
      return rm && rm.checked ? null : st.user.picture;
    }
    default: return el.value === '' ? null : el.value;
  }
}

function same(a, b, name) {
  if (name === 'roles') return JSON.stringify([...a].sort()) === JSON.stringify([...b].sort());
  return JSON.stringify(a) === JSON.stringify(b);
}

// changes answers the members whose form value differs from base: the
// body of the PATCH, which sends only what the operator changed.
function changes(base) {
  const out = {};
  const bad = [];
  for (const fd of FIELDS) {
    let v;
    try { v = formValue(fd); } catch (msg) { bad.push({ field: fd.name, message: msg }); continue; }
    if (!same(v, base[fd.name], fd.name)) out[fd.name] = v;
  }
  return { out, bad };
}

function clearErrors() {
  for (const e of st.root.querySelectorAll('.field-error')) e.textContent = '';
  for (const e of st.root.querySelectorAll('[aria-invalid]')) e.removeAttribute('aria-invalid');
  clear($('#edit-problem'));
}

// showErrors puts each error of a problem next to its field; errors of no
// field of the form go to the form's problem box.
function showErrors(list) {
  let first = null;
  const rest = [];
  for (const e of list) {
    const name = api.fieldOf(e.field);
    const slot = $(`#f-${name}-err`);
    if (!slot || !LABELS[name]) { rest.push(e); continue; }
    // The message reads after the field's name, which its label shows.
    const msg = e.message.charAt(0).toUpperCase() + e.message.slice(1);
    slot.textContent = [slot.textContent, `${msg}${e.field !== name ? ` (${e.field})` : ''}`].filter(Boolean).join('; ');
    const input = $(`#f-${name}`) || st.root.querySelector(`[data-field=${name}] input`);
    if (input) {
      input.setAttribute('aria-invalid', 'true');
      first = first || input;
    }
  }
  if (first) first.focus();
  return rest;
}

function showProblem(err, rest) {
  const box = clear($('#edit-problem'), h('p', {}, problemText(err)));
  if (rest.length) box.append(h('ul', {}, rest.map(e => h('li', {}, `${e.field}: ${e.message} (${e.code})`))));
  if (err.notices.length) box.append(h('p', {}, 'The tenant\'s policies say:'), h('ul', { class: 'notices' }, err.notices.map(n => h('li', {}, n))));
}

async function save(dryRun) {
  clearErrors();
  status('');
  $('#dry-run').hidden = true;
  const { out, bad } = changes(st.user);
  if (bad.length) {
    showErrors(bad.map(b => ({ ...b, code: 'invalid_json' })));
    return;
  }
  if (Object.keys(out).length === 0) {
    status('Nothing changed: nothing to save.');
    return;
  }
  let res;
  try {
    res = await api.call('PATCH', `/v1/users/${st.id}`, { body: out, ifMatch: st.etag, query: dryRun ? { dry_run: 'true' } : {} });
  } catch (err) {
    if (err.status === 412) return conflict(out);
    showProblem(err, showErrors(err.errors));
    return;
  }
  if (dryRun) {
    showDryRun(res.data, Object.keys(out));
    return;
  }
  status(`Saved: version ${res.data.version}.`, 'ok');
  st.user = res.data;
  st.etag = res.etag;
  st.picture = undefined;
  draw();
  loadHistory(false);
  loadPicture();
}

function showDryRun(after, sent) {
  const box = $('#dry-run');
  const changed = FIELDS.map(f => f.name).filter(n => !same(after[n], st.user[n], n));
  clear(box,
    h('h3', {}, `Dry run: nothing was written. The user would become version ${after.version}.`),
    changed.length ? h('ul', {}, changed.map(n => h('li', {}, h('strong', {}, LABELS[n]), `: ${json(st.user[n])} → ${json(after[n])}`)))
      : h('p', {}, `The change would leave the user as it is (sent: ${sent.join(', ')}).`));
  box.hidden = false;
}

// conflict handles a 412: someone changed the user since it was loaded.
// The form keeps what the operator typed; the fields they did not touch take
// the new values, so that the next save sends only their own changes.
async function conflict(mine) {
  let fresh;
  try {
    fresh = await api.call('GET', `/v1/users/${st.id}`);
  } catch (err) {
    showProblem(err, []);
    return;
  }
  const before = st.user;
  const theirs = FIELDS.map(f => f.name).filter(n => !same(before[n], fresh.data[n], n));
  const kept = {};
  for (const fd of FIELDS) if (fd.name in mine) kept[fd.name] = formValue(fd);
  const picture = st.picture;
  st.user = fresh.data;
  st.etag = fresh.etag;
  draw();
  // put back what the operator typed
  for (const [name, v] of Object.entries(kept)) setFormValue(name, v);
  st.picture = picture;
  const box = $('#conflict');
  clear(box,
    h('h2', {}, 'Someone else changed this user while you were editing it'),
    h('p', {}, `It went from version ${before.version} to ${fresh.data.version}. Your edits are kept below; check them against the new values, then save again.`),
    h('ul', {}, theirs.map(n => h('li', { class: n in mine ? 'clash' : '' },
      h('strong', {}, LABELS[n]), `: ${json(before[n])} → ${json(fresh.data[n])}`, n in mine ? ' (you changed it too)' : ''))),
    theirs.length ? null : h('p', {}, 'None of the fields of the form changed (a lifecycle action, perhaps).'));
  box.hidden = false;
  box.focus();
  loadHistory(false);
}

function setFormValue(name, v) {
  const fd = FIELDS.find(f => f.name === name);
  const el = $(`#f-${name}`);
  switch (fd.kind) {
    case 'bool': el.checked = !!v; break;
    case 'json': el.value = v === null ? '' : JSON.stringify(v, null, 1); break;
    case 'roles':
      for (const i of st.root.querySelectorAll('input[name=roles]')) i.checked = v.includes(i.value);
      break;
    case 'picture': break;
    default: el.value = v ?? '';
  }
}

// --- lifecycle

function lifecycle() {
  const u = st.user;
  const noWrite = canWrite() ? '' : `Needs the users:write scope: ${st.ctx.scopes.write.reason}`;
  const owner = u.is_owner ? 'The tenant\'s owner cannot be deactivated or deleted.' : '';
  const deleting = u.status === 'deleting' ? 'The user is being deleted: restore it first.' : '';
  const button = (id, label, why, fn) => h('span', { class: 'action' },
    h('button', { type: 'button', id, disabled: !!why, 'aria-describedby': why ? `${id}-why` : null, onclick: fn }, label),
    why ? h('span', { class: 'why', id: `${id}-why` }, why) : null);
  const acts = [];
  if (u.status === 'deleting') {
    acts.push(h('p', { class: 'note', id: 'deleting-note' }, 'Deleted at ', time(u.updated_at), ': it will be erased for good after ', time(u.purge_after), ', unless restored before.'));
    acts.push(button('act-restore', 'Restore', noWrite, () => act('restore', 'POST', `/v1/users/${u.id}/restore`, 'Restore this user?', 'It becomes active again and takes an active-user seat.')));
  } else {
    if (u.deactivated) acts.push(button('act-reactivate', 'Reactivate', noWrite, () => act('reactivate', 'POST', `/v1/users/${u.id}/reactivate`, 'Reactivate this user?', 'It becomes active and takes an active-user seat.')));
    else acts.push(button('act-deactivate', 'Deactivate', noWrite || owner, () => act('deactivate', 'POST', `/v1/users/${u.id}/deactivate`, 'Deactivate this user?', 'It stays in the directory but counts as inactive until reactivated.')));
    acts.push(button('act-delete', 'Delete', noWrite || owner, () => act('delete', 'DELETE', `/v1/users/${u.id}`, 'Delete this user?', graceText())));
  }
  const susp = u.suspensions.map(s => h('li', {},
    h('span', {}, h('strong', {}, s.reason), ' · since ', time(s.created_at), ' · ', s.ends_at ? ['ends ', time(s.ends_at)] : 'until lifted'),
    ' ',
    h('button', { type: 'button', class: 'lift', disabled: !!(noWrite || deleting), title: noWrite || deleting || null, onclick: () => act('lift', 'DELETE', `/v1/users/${u.id}/suspensions/${s.id}`, 'Lift this suspension?', `“${s.reason}” ends now.`) }, 'Lift')));
  const why = noWrite || deleting;
  return [
    h('div', { class: 'actions' }, acts),
    h('h3', {}, 'Suspensions'),
    susp.length ? h('ul', { id: 'suspensions', class: 'suspensions' }, susp) : h('p', { class: 'muted', id: 'suspensions' }, 'None in force.'),
    h('form', { id: 'suspend-form', class: 'inline', novalidate: true, onsubmit: ev => { ev.preventDefault(); suspend(); } },
      h('fieldset', { disabled: !!why },
        h('legend', {}, 'Suspend'),
        why ? h('p', { class: 'note' }, why) : null,
        h('div', { class: 'field grow' }, h('label', { for: 's-reason' }, 'Reason'), h('input', { id: 's-reason', type: 'text', 'aria-describedby': 's-reason-err' }), h('p', { class: 'field-error', id: 's-reason-err' })),
        h('div', { class: 'field' }, h('label', { for: 's-ends_at' }, 'Ends at (empty: until lifted)'), h('input', { id: 's-ends_at', type: 'datetime-local', 'aria-describedby': 's-ends_at-err' }), h('p', { class: 'field-error', id: 's-ends_at-err' })),
        h('button', { type: 'submit', id: 's-submit' }, 'Suspend'))),
    h('div', { id: 'life-problem', class: 'problem', role: 'alert' }),
  ];
}

// graceText says, in the delete confirmation, when the user will be
// erased: at once for a grace period of 0, else the time the period ends
// if it were deleted now.
function graceText() {
  const g = st.grace;
  if (g === 0) return 'The tenant has no deletion grace period: the user is erased at once, its personal data, picture and suspensions purged for good within seconds, and it cannot be restored.';
  const when = new Date(Date.now() + g * 1000).toLocaleString();
  return `The user is marked for deletion and erased for good after ${when}, when the tenant's deletion grace period of ${duration(g)} ends: its personal data, picture and suspensions are purged then. Until then it can be restored.`;
}

function duration(s) {
  if (s % 86400 === 0) return `${s / 86400} day${s === 86400 ? '' : 's'}`;
  if (s % 3600 === 0) return `${s / 3600} hour${s === 3600 ? '' : 's'}`;
  if (s % 60 === 0) return `${s / 60} minute${s === 60 ? '' : 's'}`;
  return `${s} second${s === 1 ? '' : 's'}`;
}

async function act(what, method, path, title, text) {
  if (!(await confirm(title, text, what[0].toUpperCase() + what.slice(1)))) return;
  clear($('#life-problem'));
  try {
    await api.call(method, path, { ifMatch: st.etag });
  } catch (err) {
    lifeProblem(err);
    return;
  }
  status(`Done: ${what}.`, 'ok');
  await reload();
}

async function suspend() {
  for (const id of ['s-reason-err', 's-ends_at-err']) $(`#${id}`).textContent = '';
  clear($('#life-problem'));
  const body = { reason: $('#s-reason').value };
  const ends = $('#s-ends_at').value;
  if (ends) body.ends_at = new Date(ends).toISOString();
  if (!(await confirm('Suspend this user?', `Reason: “${body.reason}”. ${ends ? `It ends by itself at ${new Date(ends).toLocaleString()}.` : 'It lasts until lifted.'}`, 'Suspend'))) return;
  try {
    await api.call('POST', `/v1/users/${st.id}/suspensions`, { body, ifMatch: st.etag });
  } catch (err) {
    for (const e of err.errors) {
      const slot = $(`#s-${api.fieldOf(e.field)}-err`);
      if (slot) slot.textContent = `${e.field === 'reason' ? 'Reason' : 'End'} ${e.message}`;
    }
    lifeProblem(err);
    return;
  }
  status('Suspended.', 'ok');
  await reload();
}

function lifeProblem(err) {
  const box = clear($('#life-problem'), h('p', {}, err.status === 412 ? 'Someone else changed this user meanwhile: reload it and try again. ' : '', problemText(err)));
  if (err.notices.length) box.append(h('ul', { class: 'notices' }, err.notices.map(n => h('li', {}, n))));
  if (err.status === 412) box.append(h('button', { type: 'button', onclick: reload }, 'Reload the user'));
}

async function reload() {
  const res = await api.call('GET', `/v1/users/${st.id}`);
  st.user = res.data;
  st.etag = res.etag;
  draw();
  loadHistory(false);
  loadPicture();
}

// --- history

async function loadHistory(more) {
  const id = st.id;
  let res;
  try {
    res = await api.call('GET', `/v1/users/${id}/history`, { query: { limit: 20, cursor: more ? st.historyCursor : '' } });
  } catch (err) {
    clear($('#history'), h('li', { class: 'problem' }, problemText(err)));
    return;
  }
  if (!st || st.id !== id || !$('#history')) return;
  if (!more) clear($('#history'));
  for (const e of res.data.data) $('#history').append(entry(e));
  st.historyCursor = res.data.next_cursor;
  $('#history-more').hidden = !res.data.has_more;
}

function entry(e) {
  const actor = e.actor.key_id ? `key ${e.actor.key_id}` : 'the command line';
  return h('li', { class: 'entry' },
    h('p', {}, h('strong', {}, e.action), ' · ', time(e.at), ' · by ', actor, e.actor.acting_user_id ? ` acting as ${e.actor.acting_user_id}` : ''),
    h('p', { class: 'muted' }, 'request ', e.request_id || '—'),
    h('table', { class: 'changes' },
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Field'), h('th', { scope: 'col' }, 'From'), h('th', { scope: 'col' }, 'To'))),
      h('tbody', {}, Object.entries(e.changes).map(([k, c]) => h('tr', {}, h('th', { scope: 'row' }, k), h('td', {}, h('code', {}, json(c.from))), h('td', {}, h('code', {}, json(c.to))))))));
}

// --- picture

// loadPicture shows a stored picture, read through the API with the key
// (an <img> cannot send it) and shown as a data: URI.
async function loadPicture() {
  const p = st.user.picture;
  const slot = $('#user-picture');
  if (!p || !slot) return;
  if (!p.startsWith('/v1/')) {
    if (!/^https?:\/\//.test(p)) return;
    clear(slot, h('a', { href: p, rel: 'noopener noreferrer', target: '_blank', title: 'The picture is on another site' }, '↗'));
    return;
  }
  try {
    const res = await api.call('GET', p, { raw: true });
    const blob = await res.blob();
    const uri = await new Promise(resolve => { const r = new FileReader(); r.onload = () => resolve(r.result); r.readAsDataURL(blob); });
    slot.removeAttribute('aria-hidden');
    clear(slot, h('img', { src: uri, alt: `Picture of ${$('#user-title').textContent}` }));
  } catch {
    // the initial stays
  }
}
