// Find: the user list, searched as one types (q: a prefix of the email,
// username or names), filtered by status, paged with the API's cursor.
import * as api from './api.js';
import { $, h, clear, debounce, status, problemText } from './dom.js';

let cursor = null;
let generation = 0; // answers to an older search are dropped

export function reset() {
  cursor = null;
  generation++;
  $('#search-q').value = '';
  $('#search-status').value = '';
  clear($('#users-rows'));
}

export function init() {
  const search = debounce(() => load(false), 250);
  $('#search-q').addEventListener('input', search);
  $('#search-status').addEventListener('change', () => load(false));
  $('#search-form').addEventListener('submit', ev => { ev.preventDefault(); load(false); });
  $('#users-more').addEventListener('click', () => load(true));
}

export function render(ctx) {
  if (!ctx.scopes.read.ok) {
    $('#search-q').disabled = true;
    $('#search-status').disabled = true;
    $('#search-note').textContent = `Listing users needs the users:read scope: ${ctx.scopes.read.reason}`;
    clear($('#users-rows'));
    return;
  }
  $('#search-q').disabled = false;
  $('#search-status').disabled = false;
  load(false);
}

function query(more) {
  const q = $('#search-q').value.trim();
  const out = { limit: 20, status: $('#search-status').value };
  if (more && cursor) out.cursor = cursor;
  if (q) out.q = q;
  return out;
}

async function load(more) {
  const mine = ++generation;
  if (!more) cursor = null;
  let res;
  try {
    res = await api.call('GET', '/v1/users', { query: query(more) });
  } catch (err) {
    if (mine !== generation) return;
    $('#search-note').textContent = problemText(err);
    return;
  }
  if (mine !== generation) return;
  const rows = $('#users-rows');
  if (!more) clear(rows);
  for (const u of res.data.data) rows.append(row(u));
  cursor = res.data.next_cursor;
  $('#users-more').hidden = !res.data.has_more;
  $('#users-empty').hidden = rows.children.length > 0;
  $('#search-note').textContent = `${rows.children.length}${res.data.has_more ? '+' : ''} shown`;
  status('');
}

function row(u) {
  const label = u.name || u.email || u.username || u.id;
  return h('tr', {},
    h('td', {}, h('a', { href: `#/users/${u.id}` }, label)),
    h('td', {}, u.email || ''),
    h('td', {}, u.username || ''),
    h('td', {}, h('span', { class: `badge ${u.status}` }, u.status), u.suspensions.length ? h('span', { class: 'badge suspended' }, 'suspended') : null));
}
