// Tenant settings: usage against quotas, the role catalog, the Cedar
// policies with the parser's errors at their positions, and webhook
// endpoints with their recent deliveries.
import * as api from './api.js';
import { $, h, clear, time, status, problemText } from './dom.js';

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
  let u;
  try { u = (await api.call('GET', '/v1/usage')).data; } catch (err) { clear(slot, h('p', { class: 'problem' }, problemText(err))); return; }
  const meter = (id, label, c) => h('div', { class: 'field' },
    h('label', { for: id }, `${label}: ${c.used.toLocaleString()} of ${c.limit.toLocaleString()}`),
    h('meter', { id, min: 0, max: Math.max(c.limit, 1), value: c.used, high: c.limit * 0.8, optimum: 0 }, `${c.used} of ${c.limit}`));
  clear(slot,
    meter('usage-writes', 'Writes this period', u.writes),
    meter('usage-active', 'Active users', u.active_users),
    h('p', { class: 'muted' }, 'The period runs from ', time(u.period_start), ' to ', time(u.period_end), '.'));
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

async function hooks() {
  const slot = $('#hooks');
  let list;
  try { list = (await api.call('GET', '/v1/webhook-endpoints')).data.data; } catch (err) { clear(slot, h('p', { class: 'problem' }, problemText(err))); return; }
  if (!list.length) { clear(slot, h('p', { class: 'muted' }, 'No endpoint. Create one with POST /v1/webhook-endpoints (its secret is shown once).')); return; }
  clear(slot, h('ul', { class: 'hooks' }, list.map(e => h('li', {},
    h('p', {}, h('strong', {}, e.kind), ' ', h('code', {}, e.url)),
    h('p', { class: 'muted' }, e.id, ' · created ', time(e.created_at), ' · ', e.events.length ? e.events.join(', ') : 'every event',
      e.kind === 'validation' ? ` · timeout ${e.timeout_ms} ms · ${e.fail_open ? 'fails open' : 'fails closed'}` : ''),
    h('button', { type: 'button', 'aria-expanded': 'false', 'aria-controls': `dl-${e.id}`, onclick: ev => deliveries(ev.currentTarget, e.id) }, 'Recent deliveries'),
    h('div', { id: `dl-${e.id}`, hidden: true })))));
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
