// Small helpers to build the page from elements: every value from the
// API goes in as text, never as markup.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k in el && typeof v !== 'string') el[k] = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function clear(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

export const $ = (sel, root = document) => root.querySelector(sel);

// time shows an API timestamp in the reader's zone, keeping the UTC
// original in the title and the datetime attribute.
export function time(iso) {
  if (!iso) return h('span', { class: 'muted' }, '—');
  const d = new Date(iso);
  return h('time', { datetime: iso, title: iso }, isNaN(d) ? iso : d.toLocaleString());
}

// show writes a one-line message to the page's status region.
export function status(msg, kind = 'info') {
  const el = $('#status');
  el.className = `status ${kind}`;
  el.textContent = msg;
}

// json shows any JSON value as text.
export function json(v) {
  return v === undefined ? 'null' : JSON.stringify(v);
}

// confirm asks in the page's dialog; it answers whether the operator agreed.
export function confirm(title, text, okLabel) {
  const dlg = $('#confirm');
  $('#confirm-title').textContent = title;
  $('#confirm-text').textContent = text;
  $('#confirm-ok').textContent = okLabel || 'Confirm';
  dlg.returnValue = '';
  return new Promise(resolve => {
    dlg.addEventListener('close', () => resolve(dlg.returnValue === 'ok'), { once: true });
    dlg.showModal();
    $('#confirm-cancel').focus();
  });
}

// debounce calls fn once the calls stop for ms.
export function debounce(fn, ms) {
  let t;
  return (...args) => {
    clearTimeout(t);
    t = setTimeout(() => fn(...args), ms);
  };
}

// problemText says what a failed call means, with its request ID for support.
export function problemText(err) {
  const id = err.requestId ? ` (request ${err.requestId})` : '';
  const code = err.code ? `${err.code}: ` : '';
  return `${code}${err.message}${id}`;
}
