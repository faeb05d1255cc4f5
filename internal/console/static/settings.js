// Tenant settings: usage against quotas, the role catalog, the Cedar
// policies with the parser's errors at their positions, and webhook
// endpoints with their recent deliveries.
import * as api from './api.js';
import { $, h, clear, time, status, confirm, problemText } from './dom.js';

export async function render(root, ctx) {
  const admin = ctx.scopes.admin;
  const why = admin.ok ? '' : `Needs the admin scope: ${admin.reason}`;
  clear(root,
    h('h1', { id: 'settings-title' }, 'Tenant settings'),
    h('div', { class: 'columns' },
      h('section', { class: 'panel', 'aria-labelledby': 'usage-title' }, h('h2', { id: 'usage-title' }, 'Usage'), h('div', { id: 'usage' }, 'Loading…')),
      h('section', { class: 'panel', 'aria-labelledby': 'roles-title' }, h('h2', { id: 'roles-title' }, 'Role catalog'), h('div', { id: 'roles' }, 'Loading…'))),
    h('section', { class: 'panel', 'aria-labelledby': 'policies-title' }, h('h2', { id: 'policies-title' }, 'Authorization policies (Cedar)'), h('div', { id: 'policies' }, why || 'Loading…')),
    h('section', { class: 'panel', 'aria-labelledby': 'hooks-title' }, h('h2', { id: 'hooks-title' }, 'Webhook endpoints'), h('div', { id: 'hooks' }, why || 'Loading…')));
  const jobs = [usage(ctx), roles(ctx, why)];
  if (admin.ok) jobs.push(policies(), hooks());
  await Promise.all(jobs);
}

async function usage(ctx) {
  const slot = $('#usage');
  if (!ctx.scopes.read.ok) { clear(slot, `Needs the users:read scope: ${ctx.scopes.read.reason}`); return; }
  let u, t;
  try {
    [u, t] = (await Promise.all([api.call('GET', '/v1/usage'), api.call('GET', '/v1/tenant')])).map(r => r.data);
  } catch (err) { clear(slot, h('p', { class: 'problem' }, problemText(err))); return; }
  ctx.tenant = t;
  const meter = (id, label, c) => h('div', { class: 'field' },
    h('label', { for: id }, `${label}: ${c.used.toLocaleString()} of ${c.limit.toLocaleString()}`),
    h('meter', { id, min: 0, max: Math.max(c.limit, 1), value: c.used, high: c.limit * 0.8, optimum: 0 }, `${c.used} of ${c.limit}`));
  clear(slot,
    meter('usage-writes', 'Writes this period', u.writes),
    meter('usage-active', 'Active users', u.active_users),
    h('p', { class: 'muted' }, 'The period runs from ', time(u.period_start), ' to ', time(u.period_end), '.'),
    tenantSettings(t));
}

// tenantSettings shows the tenant's settings, which only a platform key may
// change (PATCH /v1/tenants/{id}).
function tenantSettings(t) {
  const st = t.settings;
  const g = st.deletion_grace_seconds;
  const rows = [
    ['Deletion grace period', g === 0 ? 'none: a deleted user is erased at once' : `${g.toLocaleString()} s (${(g / 86400).toLocaleString(undefined, { maximumFractionDigits: 2 })} days)`],
    ['Metadata keys per user', String(st.metadata_max_keys)],
    ['Every write needs If-Match', st.require_if_match ? 'yes' : 'no'],
    ['Change feed keeps events for', `${st.event_retention_hours || 168} hours`],
  ];
  return [
    h('h3', {}, `Settings of ${t.name}`),
    h('dl', { class: 'facts', id: 'tenant-settings' }, rows.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])),
    h('p', { class: 'hint' }, 'Only a platform key can change them.'),
  ];
}

async function roles(ctx, why) {
  const slot = $('#roles');
  if (!ctx.scopes.read.ok) { clear(slot, `Needs the users:read scope: ${ctx.scopes.read.reason}`); return; }
  let r;
  try { r = (await api.call('GET', '/v1/roles')).data; } catch (err) { clear(slot, h('p', { class: 'problem' }, problemText(err))); return; }
  const area = h('textarea', { id: 'roles-text', rows: 6, spellcheck: 'false', class: 'mono', 'aria-describedby': 'roles-hint roles-err', disabled: !!why });
  area.value = r.roles.join('\n');
  clear(slot,
    h('form', { novalidate: true, onsubmit: ev => { ev.preventDefault(); saveRoles(); } },
      h('div', { class: 'field' },
        h('label', { for: 'roles-text' }, 'Roles, one a line'),
        area,
        h('p', { class: 'hint', id: 'roles-hint' }, why || 'Lower-case names; a role some user holds cannot be removed.'),
        h('div', { class: 'field-error', id: 'roles-err', 'aria-live': 'polite' })),
      h('button', { type: 'submit', id: 'roles-save', disabled: !!why, title: why || null }, 'Save roles')));
}

async function saveRoles() {
  const err = clear($('#roles-err'));
  $('#roles-text').removeAttribute('aria-invalid');
  const list = $('#roles-text').value.split('\n').map(s => s.trim()).filter(Boolean);
  try {
    const r = await api.call('PUT', '/v1/roles', { body: { roles: list } });
    $('#roles-text').value = r.data.roles.join('\n');
    status('Roles saved.', 'ok');
  } catch (e) {
    err.append(problemText(e));
    if (e.errors.length) err.append(h('ul', {}, e.errors.map(x => h('li', {}, `${x.field} ${x.message}`))));
    $('#roles-text').setAttribute('aria-invalid', 'true');
  }
}

async function policies() {
  const slot = $('#policies');
  let p;
  try { p = (await api.call('GET', '/v1/policies')).data; } catch (err) { clear(slot, h('p', { class: 'problem' }, problemText(err))); return; }
  const area = h('textarea', { id: 'policies-text', rows: 16, spellcheck: 'false', class: 'mono code', 'aria-describedby': 'policies-state policies-err' });
  area.value = p.policies;
  clear(slot,
    h('form', { novalidate: true, onsubmit: ev => { ev.preventDefault(); savePolicies(); } },
      h('div', { class: 'field' },
        h('label', { for: 'policies-text' }, 'Policy text'),
        area,
        h('p', { class: 'hint', id: 'policies-state' }, p.default ? 'The default set is in force (the tenant has set none). Saving an empty text restores it.' : 'The tenant\'s own set is in force. Saving an empty text restores the default set.'),
        h('div', { class: 'field-error', id: 'policies-err', 'aria-live': 'polite' })),
      h('button', { type: 'submit', id: 'policies-save' }, 'Save policies')));
}

// at finds a parser error's `line:column` in its message.
function at(message) {
  const m = /^(\d+):(\d+)/.exec(message);
  return m ? { line: +m[1], column: +m[2] } : null;
}

// goTo puts the cursor at line:column of the policy text.
function goTo(pos) {
  const area = $('#policies-text');
  const lines = area.value.split('\n');
  let offset = 0;
  for (let i = 0; i < pos.line - 1 && i < lines.length; i++) offset += lines[i].length + 1;
  offset += Math.max(0, pos.column - 1);
  area.focus();
  area.setSelectionRange(offset, Math.min(offset + 1, area.value.length));
}

async function savePolicies() {
  const slot = clear($('#policies-err'));
  const area = $('#policies-text');
  area.removeAttribute('aria-invalid');
  try {
    const r = await api.call('PUT', '/v1/policies', { body: { policies: area.value } });
    area.value = r.data.policies;
    $('#policies-state').textContent = r.data.default ? 'The default set is in force.' : 'The tenant\'s own set is in force.';
    status('Policies saved.', 'ok');
  } catch (e) {
    area.setAttribute('aria-invalid', 'true');
    slot.append(h('p', {}, problemText(e)));
    slot.append(h('ul', { id: 'policies-errors' }, e.errors.map(x => {
      const pos = at(x.message);
      return h('li', {}, pos
        ? h('button', { type: 'button', class: 'link', onclick: () => goTo(pos) }, `Line ${pos.line}, column ${pos.column}`)
        : null, pos ? ': ' : '', pos ? x.message.replace(/^\d+:\d+:?\s*/, '') : x.message, ` (${x.code})`);
    })));
  }
}

const EVENTS = ['user.created', 'user.updated', 'user.deleted', 'user.restored', 'user.deactivated', 'user.reactivated', 'user.suspended', 'user.unsuspended'];

async function hooks() {
  const slot = $('#hooks');
  let list;
  try { list = (await api.call('GET', '/v1/webhook-endpoints')).data.data; } catch (err) { clear(slot, h('p', { class: 'problem' }, problemText(err))); return; }
  clear(slot,
    list.length ? h('ul', { class: 'hooks' }, list.map(endpoint)) : h('p', { class: 'muted' }, 'No endpoint yet.'),
    h('div', { id: 'hook-secret', class: 'dry-run', role: 'status', hidden: true }),
    hookForm());
}

function endpoint(e) {
  return h('li', {},
    h('p', {}, h('strong', {}, e.kind), ' ', h('code', {}, e.url)),
    h('p', { class: 'muted' }, e.id, ' · created ', time(e.created_at), ' · ', e.events.length ? e.events.join(', ') : 'every event',
      e.kind === 'validation' ? ` · timeout ${e.timeout_ms} ms · ${e.fail_open ? 'fails open' : 'fails closed'}` : ''),
    h('div', { class: 'actions' },
      h('button', { type: 'button', 'aria-expanded': 'false', 'aria-controls': `dl-${e.id}`, onclick: ev => deliveries(ev.currentTarget, e.id) }, 'Recent deliveries'),
      h('button', { type: 'button', class: 'quiet', id: `del-${e.id}`, onclick: () => removeHook(e) }, 'Delete')),
    h('div', { id: `dl-${e.id}`, hidden: true }));
}

function hookForm() {
  const err = name => h('p', { class: 'field-error', id: `hook-${name}-err`, 'aria-live': 'polite' });
  return h('form', { id: 'hook-form', novalidate: true, onsubmit: ev => { ev.preventDefault(); createHook(); } },
    h('h3', {}, 'New endpoint'),
    h('div', { class: 'field' }, h('label', { for: 'hook-url' }, 'URL'), h('input', { id: 'hook-url', type: 'text', spellcheck: 'false', autocomplete: 'off', 'aria-describedby': 'hook-url-err' }), err('url')),
    h('div', { class: 'field' }, h('label', { for: 'hook-kind' }, 'Kind'),
      h('select', { id: 'hook-kind', 'aria-describedby': 'hook-kind-err' }, h('option', { value: 'events' }, 'events: receives change events'), h('option', { value: 'validation' }, 'validation: asked before each write')), err('kind')),
    h('fieldset', { class: 'field roles', 'aria-describedby': 'hook-events-err' }, h('legend', {}, 'Events (none checked: every event)'),
      EVENTS.map(ev => h('span', { class: 'check' }, h('input', { type: 'checkbox', id: `hook-ev-${ev}`, name: 'hook-events', value: ev }), h('label', { for: `hook-ev-${ev}` }, ev))), err('events')),
    h('div', { class: 'field check' }, h('input', { id: 'hook-fail_open', type: 'checkbox' }), h('label', { for: 'hook-fail_open' }, 'Fail open (validation: let writes through when it cannot be asked)'), err('fail_open')),
    h('div', { class: 'field' }, h('label', { for: 'hook-timeout_ms' }, 'Timeout in ms (validation; empty: 2000)'), h('input', { id: 'hook-timeout_ms', type: 'text', inputmode: 'numeric', 'aria-describedby': 'hook-timeout_ms-err' }), err('timeout_ms')),
    h('div', { id: 'hook-problem', class: 'problem', role: 'alert' }),
    h('button', { type: 'submit', id: 'hook-create' }, 'Create endpoint'));
}

async function createHook() {
  for (const e of document.querySelectorAll('#hook-form .field-error')) e.textContent = '';
  clear($('#hook-problem'));
  const body = { url: $('#hook-url').value, kind: $('#hook-kind').value };
  const events = [...document.querySelectorAll('input[name=hook-events]:checked')].map(i => i.value);
  if (events.length) body.events = events;
  if ($('#hook-fail_open').checked) body.fail_open = true;
  const t = $('#hook-timeout_ms').value.trim();
  if (t) body.timeout_ms = Number(t);
  let created;
  try {
    created = (await api.call('POST', '/v1/webhook-endpoints', { body })).data;
  } catch (e) {
    const rest = e.errors.filter(x => {
      const slot = $(`#hook-${api.fieldOf(x.field)}-err`);
      if (slot) slot.textContent = x.message.charAt(0).toUpperCase() + x.message.slice(1);
      return !slot;
    });
    clear($('#hook-problem'), problemText(e), rest.map(x => h('div', {}, `${x.field}: ${x.message}`)));
    return;
  }
  await hooks();
  const box = $('#hook-secret');
  const secret = h('input', { id: 'hook-secret-value', type: 'text', readonly: true, spellcheck: 'false', class: 'mono' });
  secret.value = created.secret;
  clear(box,
    h('p', {}, h('strong', {}, `Endpoint ${created.id} created.`), ' Its signing secret is shown only this once: keep it now.'),
    h('div', { class: 'field' }, h('label', { for: 'hook-secret-value' }, 'Signing secret'), secret));
  box.hidden = false;
  secret.focus();
  secret.select();
}

async function removeHook(e) {
  if (!(await confirm('Delete this endpoint?', `${e.url} stops receiving ${e.kind === 'events' ? 'events' : 'validation requests'}.`, 'Delete'))) return;
  try {
    await api.call('DELETE', `/v1/webhook-endpoints/${e.id}`);
  } catch (err) {
    status(problemText(err), 'error');
    return;
  }
  status('Endpoint deleted.', 'ok');
  await hooks();
}

async function deliveries(button, id) {
  const slot = $(`#dl-${id}`);
  if (button.getAttribute('aria-expanded') === 'true') {
    button.setAttribute('aria-expanded', 'false');
    slot.hidden = true;
    return;
  }
  button.setAttribute('aria-expanded', 'true');
  slot.hidden = false;
  clear(slot, 'Loading…');
  let list;
  try { list = (await api.call('GET', `/v1/webhook-endpoints/${id}/deliveries`, { query: { limit: 20 } })).data.data; } catch (err) { clear(slot, h('p', { class: 'problem' }, problemText(err))); return; }
  if (!list.length) { clear(slot, h('p', { class: 'muted' }, 'No delivery yet.')); return; }
  clear(slot, h('div', { class: 'table-wrap' }, h('table', { class: 'list' },
    h('thead', {}, h('tr', {}, ['Event', 'User', 'Status', 'Attempts', 'Last answer'].map(t => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, list.map(d => {
      const last = d.attempt_log[d.attempt_log.length - 1];
      return h('tr', {},
        h('td', {}, h('code', {}, d.event_id), h('br'), time(d.created_at)),
        h('td', {}, h('a', { href: `#/users/${d.user_id}` }, d.user_id)),
        h('td', {}, h('span', { class: `badge ${d.status}` }, d.status), d.status === 'pending' ? [' next ', time(d.next_attempt_at)] : ''),
        h('td', {}, String(d.attempts)),
        h('td', {}, last ? `${last.status_code || 'no answer'}${last.error ? ` · ${last.error}` : ''} · ${last.duration_ms} ms` : '—'));
    })))));
}
