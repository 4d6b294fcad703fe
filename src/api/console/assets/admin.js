// The admin's pages: members and tokens; and the once-only report (auditors too).
import { t, h, api, page, problemView, table, field, slot, confirmAct, fmtTime, fmtNum } from './core.js';

export async function members() {
  const r = await api('GET', '/v1/members');
  page(t('nav.members'), r.ok
    ? table([t('col.member'), t('col.name'), t('mb.roles'), t('mb.tls'), t('mb.inforce'), t('mb.changed')],
      r.body.members.map((m) => [m.code, m.name, m.roles.join(', '), (m.tls_names || []).join(', ') || '–', m.in_force ? t('yes') : t('no'), fmtTime(m.changed_at)]), 'members')
    : problemView(r.problem));
}

export async function tokens() {
  const out = slot();
  const member = h('input', { type: 'text', id: 't-member' });
  const role = h('select', { id: 't-role' }, ['provider', 'consumer', 'auditor', 'admin'].map((x) => h('option', { value: x, text: x })));
  const r = await api('GET', '/v1/tokens');
  const rows = (r.ok ? r.body.tokens : []).map((k) => [k.id, k.member, k.role, fmtTime(k.created_at), k.revoked_at ? fmtTime(k.revoked_at) : '–',
    k.revoked_at ? '' : h('button', { class: 'danger', text: t('tk.revoke'), onclick: async () => {
      if (!(await confirmAct(t('tk.confirm.revoke', { id: k.id })))) return;
      const a = await api('DELETE', `/v1/tokens/${encodeURIComponent(k.id)}`);
      if (a.ok) tokens(); else out.replaceChildren(problemView(a.problem));
    } })]);
  page(t('nav.tokens'),
    r.ok ? table([t('col.id'), t('col.member'), t('tk.role'), t('tk.created'), t('tk.revoked'), ''], rows, 'tokens') : problemView(r.problem),
    h('h2', { text: t('tk.new') }),
    h('form', { class: 'row', onsubmit: async (e) => {
      e.preventDefault();
      if (!(await confirmAct(t('tk.confirm.create', { m: member.value, r: role.value })))) return;
      const a = await api('POST', '/v1/tokens', { member: member.value.trim(), role: role.value });
      out.replaceChildren(a.ok
        ? h('div', { class: 'notice' }, h('p', { text: t('tk.created.once') }), h('code', { id: 't-secret', text: a.body.token }))
        : problemView(a.problem));
    } }, field(t('col.member'), member), field(t('tk.role'), role), h('button', { class: 'primary', text: t('tk.create') })),
    out);
}

export async function onceonly() {
  const r = await api('GET', '/v1/onceonly/report');
  if (!r.ok) { page(t('nav.onceonly'), problemView(r.problem)); return; }
  const cols = ['dossiers', 'reused', 'filled_from_register', 'mismatches', 'requested_again'];
  page(t('nav.onceonly'),
    h('p', { class: 'muted', text: t('oo.help') }),
    table([t('q.agency'), t('q.procedure'), ...cols.map((c) => t(`oo.${c}`))],
      [...r.body.groups.map((g) => [g.receiving_agency, g.procedure_code, ...cols.map((c) => fmtNum(g[c]))]),
        [h('strong', { text: t('total') }), '', ...cols.map((c) => h('strong', { text: fmtNum(r.body.total[c]) }))]]));
}
