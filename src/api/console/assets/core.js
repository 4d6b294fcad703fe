// The console's shared parts: the session, the API client, translations, dates, and small
// builders that put text into the page as text (never as HTML).
import { STRINGS } from './i18n.js';

export const state = {
  session: null,
  lang: localStorage.getItem('lienthong.lang') === 'en' ? 'en' : 'vi',
};

export function setLang(lang) {
  state.lang = lang === 'en' ? 'en' : 'vi';
  localStorage.setItem('lienthong.lang', state.lang);
  document.documentElement.lang = state.lang;
}

/** The text of `key` in the chosen language, `{name}` replaced from `vars`. */
export function t(key, vars) {
  const text = STRINGS[state.lang][key] ?? STRINGS.vi[key] ?? key;
  return vars ? text.replace(/\{(\w+)\}/g, (_, k) => String(vars[k] ?? '')) : text;
}

/** An element: `attrs` sets attributes, `on…` handlers and `text`; children are nodes or text. */
export function h(tag, attrs, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'text') el.textContent = v;
    else if (k === 'class') el.className = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const kid of kids.flat()) {
    if (kid === null || kid === undefined || kid === false) continue;
    el.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
  }
  return el;
}

/** Whether the signed-in member acts in one of `roles`. */
export function has(...roles) {
  return !!state.session && roles.some((r) => state.session.roles.includes(r));
}

/** An answer of the API: `ok`, `status`, `body` (JSON or text), `problem` when it failed. */
export async function api(method, path, body, { raw = false } = {}) {
  const headers = { Accept: raw ? 'text/plain' : 'application/json' };
  if (state.session) headers['X-CSRF-Token'] = state.session.csrf;
  let payload;
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  let resp;
  try {
    resp = await fetch(path, { method, headers, body: payload, credentials: 'same-origin' });
  } catch (e) {
    return { ok: false, status: 0, problem: { title: t('net.down'), detail: String(e) } };
  }
  const type = resp.headers.get('content-type') || '';
  // Raw answers (a signed note, an export of JSON lines) are text; a refusal is problem+json.
  const asJson = type.includes('json') && !(raw && resp.ok);
  const parsed = asJson ? await resp.json().catch(() => null) : await resp.text();
  if (resp.status === 401 && state.session && path !== '/console/session') {
    state.session = null;
    document.dispatchEvent(new CustomEvent('lienthong:signed-out', { detail: parsed }));
  }
  return resp.ok
    ? { ok: true, status: resp.status, body: parsed }
    : { ok: false, status: resp.status, problem: parsed && typeof parsed === 'object' ? parsed : { detail: String(parsed) } };
}

const VN = 'Asia/Ho_Chi_Minh';
const dateTime = new Intl.DateTimeFormat('en-GB', {
  timeZone: VN, day: '2-digit', month: '2-digit', year: 'numeric',
  hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23',
});

/** A moment as Vietnamese users write it, in Vietnam time: `05/12/2026 14:07:31`. */
export function fmtTime(iso) {
  if (!iso) return '–';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  const p = Object.fromEntries(dateTime.formatToParts(d).map((x) => [x.type, x.value]));
  return `${p.day}/${p.month}/${p.year} ${p.hour}:${p.minute}:${p.second}`;
}

/** A number with Vietnamese grouping (1.234.567). */
export function fmtNum(n) {
  if (n === null || n === undefined) return '–';
  return new Intl.NumberFormat(state.lang === 'vi' ? 'vi-VN' : 'en-GB').format(n);
}

/** A date-time input's value (Vietnam time) as RFC 3339, or undefined. */
export function fromLocalInput(value) {
  if (!value) return undefined;
  return `${value.length === 16 ? value + ':00' : value}+07:00`;
}

/** A refusal of the API, shown as what, where and why. */
export function problemView(p) {
  const box = h('div', { class: 'problem', role: 'alert' },
    h('strong', { text: p?.title || t('error') }),
    p?.code ? h('span', { class: 'muted', text: ` (${p.code})` }) : null,
    p?.detail ? h('p', { text: p.detail }) : null);
  const errors = p?.errors || [];
  if (errors.length) box.append(fieldErrors(errors));
  return box;
}

/** Field errors: pointer, code, message, and the external place the value came from. */
export function fieldErrors(errors) {
  return table(
    [t('err.pointer'), t('err.source'), t('err.code'), t('err.message')],
    errors.map((e) => [h('code', { text: e.pointer || '/' }), e.source ? h('code', { text: e.source }) : '–', e.code, e.message]),
    'field-errors',
  );
}

/** A table of `rows` (arrays of cells: nodes or text). */
export function table(headers, rows, cls) {
  return h('div', { class: 'scroll' },
    h('table', { class: cls },
      h('thead', {}, h('tr', {}, headers.map((x) => h('th', { scope: 'col', text: x })))),
      h('tbody', {}, rows.length
        ? rows.map((r) => h('tr', {}, r.map((c) => h('td', {}, c ?? '–'))))
        : h('tr', {}, h('td', { colspan: headers.length, class: 'muted', text: t('none') })))));
}

/** A labelled control; `control` gets an id tied to its label. */
let ids = 0;
export function field(label, control) {
  const id = control.id || `f${++ids}`;
  control.id = id;
  return h('div', {}, h('label', { for: id, text: label }), control);
}

/** Asks before an act; resolves to whether it was confirmed. */
export function confirmAct(message) {
  const dialog = document.getElementById('confirm');
  document.getElementById('confirm-text').textContent = message;
  document.getElementById('confirm-no').textContent = t('cancel');
  document.getElementById('confirm-yes').textContent = t('confirm');
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'yes'), { once: true });
    dialog.returnValue = '';
    dialog.showModal();
    document.getElementById('confirm-no').focus();
  });
}

/** Replaces the page's content and names it. */
export function page(title, ...content) {
  const main = document.getElementById('main');
  main.replaceChildren(h('h1', { text: title }), ...content);
  document.title = `${title} – ${t('app')}`;
  return main;
}

/** A place for the result of an act, replaced on each. */
export function slot() {
  return h('div', { 'aria-live': 'polite' });
}

export function outcomeText(o) {
  const good = ['accepted', 'delivered', 'ok', 'matched', 'allowed', 'replayed'];
  const bad = ['denied', 'refused', 'parked', 'rejected', 'failed', 'blocked', 'mismatch'];
  return h('span', { class: good.includes(o) ? 'ok' : bad.includes(o) ? 'bad' : '', text: o ?? '–' });
}
