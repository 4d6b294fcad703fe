// The console's frame: sign-in, the menu (only the pages the member's roles may use), the
// language switch, and the router (`#/page`).
import { state, t, h, api, setLang, page, problemView, field } from './core.js';
import { overview, adapters, routesPolicy, dead, exchanges, quality } from './pages.js';
import { audit, report } from './audit.js';
import { members, tokens, onceonly } from './admin.js';

const ALL = ['admin', 'auditor', 'provider', 'consumer'];
/** Each page: its path, its name's key, the roles the API lets see it, and how it is drawn. */
const PAGES = [
  ['overview', 'nav.overview', ALL, overview],
  ['adapters', 'nav.adapters', ALL, adapters],
  ['policy', 'nav.policy', ALL, routesPolicy],
  ['dead', 'nav.dead', ['admin', 'auditor', 'provider'], dead],
  ['exchanges', 'nav.exchanges', ['admin', 'auditor', 'provider'], exchanges],
  ['audit', 'nav.audit', ['admin', 'auditor'], audit],
  ['report', 'nav.report', ['admin', 'auditor'], report],
  ['quality', 'nav.quality', ALL, quality],
  ['onceonly', 'nav.onceonly', ['admin', 'auditor'], onceonly],
  ['members', 'nav.members', ['admin'], members],
  ['tokens', 'nav.tokens', ['admin'], tokens],
];

function allowed() {
  return PAGES.filter(([, , roles]) => roles.some((r) => state.session.roles.includes(r)));
}

function header() {
  const top = document.getElementById('top');
  const lang = h('select', { id: 'lang', 'aria-label': t('lang'), onchange: (e) => { setLang(e.target.value); draw(); } },
    h('option', { value: 'vi', selected: state.lang === 'vi', text: 'Tiếng Việt' }),
    h('option', { value: 'en', selected: state.lang === 'en', text: 'English' }));
  const who = state.session
    ? [h('span', { id: 'who', text: `${state.session.title || state.session.member} · ${state.session.member} · ${state.session.roles.join(', ')}` }),
      h('button', { id: 'sign-out', onclick: signOut, text: t('signout') })]
    : [];
  top.replaceChildren(h('span', { class: 'brand', text: t('app') }), ...who, lang);
  document.getElementById('skip').textContent = t('skip');
}

function nav(current) {
  const el = document.getElementById('nav');
  el.setAttribute('aria-label', t('nav'));
  if (!state.session) return el.replaceChildren();
  el.replaceChildren(...allowed().map(([path, key]) =>
    h('a', { href: `#/${path}`, id: `nav-${path}`, 'aria-current': path === current ? 'page' : false, text: t(key) })));
}

function signInPage(reason) {
  const token = h('input', { type: 'password', id: 'token', autocomplete: 'off', required: true, placeholder: 'lt_…' });
  const out = h('div', { 'aria-live': 'polite' });
  if (reason) out.append(problemView(reason));
  const form = h('form', { id: 'sign-in', onsubmit: async (e) => {
    e.preventDefault();
    const r = await api('POST', '/console/session', { token: token.value });
    if (!r.ok) { out.replaceChildren(problemView(r.problem)); return; }
    state.session = r.body;
    token.value = '';
    if (!location.hash || location.hash === '#/') location.hash = '#/overview';
    draw();
  } },
  field(t('signin.token'), token),
  h('p', { class: 'muted', text: t('signin.help') }),
  h('div', { class: 'row' },
    h('button', { type: 'submit', class: 'primary', id: 'sign-in-button', text: t('signin') }),
    h('button', { type: 'button', id: 'sign-in-cert', text: t('signin.cert'), onclick: async () => {
      const r = await api('POST', '/console/session', {});
      if (!r.ok) { out.replaceChildren(problemView(r.problem)); return; }
      state.session = r.body;
      draw();
    } })));
  page(t('signin'), form, out);
  token.focus();
}

async function signOut() {
  await api('DELETE', '/console/session');
  state.session = null;
  location.hash = '';
  draw();
}

export async function draw() {
  header();
  if (!state.session) { nav(); signInPage(state.reason); state.reason = null; return; }
  const path = (location.hash.match(/^#\/([\w-]+)/) || [])[1] || 'overview';
  const found = allowed().find(([p]) => p === path);
  nav(found ? path : null);
  const main = document.getElementById('main');
  if (!found) {
    page(t('forbidden.title'), h('p', { text: t('forbidden') }));
    return;
  }
  main.setAttribute('aria-busy', 'true');
  try {
    await found[3]();
  } catch (e) {
    main.append(problemView({ title: t('error'), detail: String(e) }));
  } finally {
    main.removeAttribute('aria-busy');
    main.dataset.page = path;
  }
}

document.addEventListener('lienthong:signed-out', (e) => {
  state.reason = e.detail || { title: t('session.ended') };
  draw();
});
window.addEventListener('hashchange', draw);

(async () => {
  setLang(state.lang);
  const r = await api('GET', '/console/session');
  state.session = r.ok ? r.body : null;
  draw();
})();
