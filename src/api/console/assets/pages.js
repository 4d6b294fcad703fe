// The pages of the hub's operation: overview, adapters (with the dry run), routes and policy,
// dead letters, exchanges, service quality.
import { state, t, h, api, has, page, problemView, fieldErrors, table, field, confirmAct, slot, fmtTime, fmtNum, outcomeText, fromLocalInput } from './core.js';

/** A bar chart (SVG, no script) of counts per minute: ingested and delivered. */
function chart(traffic) {
  const W = 600, H = 160, n = traffic.minutes.length || 60;
  const sum = (series) => traffic.minutes.map((_, i) => Object.values(series).reduce((a, s) => a + (s[i] || 0), 0));
  const a = sum(traffic.adapters), d = sum(traffic.destinations);
  const max = Math.max(1, ...a, ...d);
  const bw = W / n / 2;
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('viewBox', `0 0 ${W} ${H + 14}`);
  svg.setAttribute('class', 'chart');
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', t('ov.chart.label', { a: a.reduce((x, y) => x + y, 0), d: d.reduce((x, y) => x + y, 0) }));
  const bar = (i, v, cls, off) => {
    const r = document.createElementNS(svg.namespaceURI, 'rect');
    const bh = (v / max) * H;
    Object.entries({ x: i * 2 * bw + off, y: H - bh, width: Math.max(bw - 0.5, 0.5), height: bh, class: cls })
      .forEach(([k, val]) => r.setAttribute(k, val));
    svg.append(r);
  };
  a.forEach((v, i) => bar(i, v, 'a', 0));
  d.forEach((v, i) => bar(i, v, 'd', bw));
  for (const [i, label] of [[0, '−60′'], [n / 2, '−30′'], [n - 4, t('now')]]) {
    const tx = document.createElementNS(svg.namespaceURI, 'text');
    tx.setAttribute('x', i * 2 * bw); tx.setAttribute('y', H + 12); tx.textContent = label;
    svg.append(tx);
  }
  return h('div', {}, svg, h('p', { class: 'legend muted' }, h('span', { class: 'a' }), t('ov.ingested'), h('span', { class: 'd' }), t('ov.delivered'),
    ` · ${t('ov.max', { n: fmtNum(max) })}`));
}

/** A small bar series (SVG) of one adapter's or destination's counts per minute. */
function spark(counts, cls, label) {
  const W = 180, H = 24, max = Math.max(1, ...counts);
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
  svg.setAttribute('class', 'chart spark');
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', label);
  counts.forEach((v, i) => {
    if (!v) return;
    const r = document.createElementNS(svg.namespaceURI, 'rect');
    const bh = Math.max((v / max) * H, 1);
    Object.entries({ x: i * (W / counts.length), y: H - bh, width: Math.max(W / counts.length - 0.5, 0.5), height: bh, class: cls })
      .forEach(([k, val]) => r.setAttribute(k, val));
    svg.append(r);
  });
  return svg;
}

/** Each adapter's and destination's last hour, a row each. */
function byName(traffic) {
  const rows = [];
  for (const [kind, series, cls] of [[t('ov.ingested'), traffic.adapters, 'a'], [t('ov.delivered'), traffic.destinations, 'd']]) {
    for (const [name, counts] of Object.entries(series)) {
      const total = counts.reduce((x, y) => x + y, 0);
      rows.push([name, kind, spark(counts, cls, `${name}: ${total}`), fmtNum(total)]);
    }
  }
  return table([t('col.name'), t('ov.kind'), t('ov.traffic.short'), t('ov.hour.total')], rows, 'traffic');
}

export async function overview() {
  const [ready, relay, ads, traffic] = await Promise.all([
    api('GET', '/readyz'), api('GET', '/v1/relay/status'), api('GET', '/v1/adapters'), api('GET', '/v1/traffic')]);
  const r = ready.ok ? ready.body : ready.problem;
  const dests = relay.ok ? relay.body.destinations : [];
  const depth = dests.reduce((s, d) => s + d.depth, 0);
  const oldest = Math.max(0, ...dests.map((d) => d.oldest_age_secs || 0));
  const open = dests.filter((d) => d.breaker !== 'closed').length;
  const cards = h('div', { class: 'cards' },
    h('div', { class: 'card', id: 'ov-health' }, t('ov.health'), h('strong', { class: r?.status === 'ready' ? 'ok' : 'bad', text: r?.status === 'ready' ? t('ov.ready') : t('ov.notready') })),
    h('div', { class: 'card' }, t('ov.outbox'), h('strong', { id: 'ov-depth', text: fmtNum(depth) })),
    h('div', { class: 'card' }, t('ov.oldest'), h('strong', { text: `${fmtNum(Math.round(oldest))} s` })),
    h('div', { class: 'card' }, t('ov.breakers'), h('strong', { class: open ? 'bad' : 'ok', text: open ? t('ov.open', { n: open }) : t('ov.closed') })),
    h('div', { class: 'card' }, t('ov.adapters'), h('strong', { text: fmtNum(ads.ok ? ads.body.adapters.length : 0) })));
  const parts = [cards];
  if (relay.ok) {
    const st = relay.body;
    parts.push(h('h2', { text: t('ov.nodes') }),
      h('p', { id: 'ov-node', text: t(st.shared ? 'ov.node.shared' : 'ov.node.one', { node: st.node }) }));
    if (st.shared) {
      parts.push(table([t('col.destination'), t('ov.node.delivers'), t('ov.node.left')],
        st.claims.map((c) => [c.destination, h('span', { class: c.node === st.node ? 'ok' : '', text: c.node }),
          c.ms_left > 0 ? `${(c.ms_left / 1000).toFixed(1)} s` : h('span', { class: 'bad', text: t('ov.node.expired') })]), 'claims'));
      if (st.audit_lookups) parts.push(h('p', { id: 'ov-lookups', text: t('ov.node.lookups', { node: st.audit_lookups.node }) }));
    }
  }
  if (r?.store_error) parts.push(problemView({ title: t('ov.store'), detail: r.store_error }));
  if (traffic.ok) parts.push(h('h2', { text: t('ov.traffic') }), chart(traffic.body), byName(traffic.body));
  parts.push(h('h2', { text: t('ov.destinations') }), table(
    [t('col.destination'), t('ov.outbox'), t('ov.inflight'), t('ov.oldest'), t('ov.delivered'), t('ov.failed'), t('nav.dead'), t('ov.breaker')],
    dests.map((d) => [d.destination, fmtNum(d.depth), fmtNum(d.in_flight), `${fmtNum(Math.round(d.oldest_age_secs || 0))} s`, fmtNum(d.delivered), fmtNum(d.failed), fmtNum(d.dead), h('span', { class: d.breaker === 'closed' ? 'ok' : 'bad', text: d.breaker })])));
  if (traffic.ok && traffic.body.errors?.length) {
    parts.push(h('h2', { text: t('ov.errors') }), table([t('col.time'), t('col.where'), t('col.code')],
      traffic.body.errors.map((e) => [fmtTime(e.time), e.where, e.code])));
  }
  page(t('nav.overview'), ...parts);
}

function mayManage(member) {
  return has('admin') || (has('provider') && state.session.member === member);
}

export async function adapters() {
  const [list, traffic] = await Promise.all([api('GET', '/v1/adapters'), api('GET', '/v1/traffic')]);
  const hour = (name) => (traffic.ok ? (traffic.body.adapters[name] || []) : []).reduce((a, b) => a + b, 0);
  const lastError = (name) => (traffic.ok ? traffic.body.errors.find((e) => e.where === name) : null);
  const out = slot();
  const rows = (list.ok ? list.body.adapters : []).map((a) => [
    h('strong', { text: a.name }), a.title, a.member, String(a.version),
    h('span', { class: a.enabled ? 'ok' : 'bad', text: a.enabled ? t('yes') : t('no') }),
    `${a.format} / ${a.transport}`,
    fmtNum(hour(a.name)),
    lastError(a.name) ? h('span', { class: 'bad', text: `${lastError(a.name).code} (${fmtTime(lastError(a.name).time)})` }) : '–',
    a.probe ? h('span', { class: a.probe.reachable ? 'ok' : 'bad', title: a.probe.endpoint,
      text: `${a.probe.reachable ? `${t('ad.probe.ok')} ${a.probe.status ?? ''}` : a.probe.error} (${a.probe.elapsed_ms} ms, ${fmtTime(a.probe.at)})` }) : '–',
    h('div', { class: 'row' },
      h('button', { text: t('ad.show'), onclick: async () => {
        const r = await api('GET', `/v1/adapters/${encodeURIComponent(a.name)}`);
        out.replaceChildren(r.ok ? h('div', {}, h('h2', { text: `${a.name} v${a.version}` }), h('pre', { text: r.body.definition ?? JSON.stringify(r.body, null, 2) })) : problemView(r.problem));
      } }),
      mayManage(a.member) ? h('button', { id: `probe-${a.name}`, text: t('ad.probe'), onclick: async () => {
        const r = await api('POST', `/v1/adapters/${encodeURIComponent(a.name)}/probe`);
        if (r.ok) adapters(); else out.replaceChildren(problemView(r.problem));
      } }) : null,
      mayManage(a.member) ? h('button', { class: a.enabled ? 'danger' : '', id: `toggle-${a.name}`, text: a.enabled ? t('ad.disable') : t('ad.enable'), onclick: async () => {
        if (!(await confirmAct(t(a.enabled ? 'ad.confirm.disable' : 'ad.confirm.enable', { name: a.name })))) return;
        const r = await api('POST', `/v1/adapters/${encodeURIComponent(a.name)}/${a.enabled ? 'disable' : 'enable'}`);
        if (r.ok) adapters(); else out.replaceChildren(problemView(r.problem));
      } }) : null)]);
  const parts = [table([t('col.name'), t('col.title'), t('col.member'), t('col.version'), t('col.enabled'), t('col.format'), t('ad.hour'), t('ad.lasterror'), t('ad.probe.col'), ''], rows, 'adapters'), out];
  if (has('admin', 'provider')) parts.push(dryRunForm());
  page(t('nav.adapters'), ...parts);
}

function sampleRow() {
  const name = h('input', { type: 'text', class: 'sample-name', placeholder: 'samples/…/dossier.xml' });
  const text = h('textarea', { class: 'sample-text', spellcheck: 'false' });
  const file = h('input', { type: 'file', onchange: async (e) => {
    const f = e.target.files[0];
    if (f) { text.value = await f.text(); if (!name.value) name.value = f.name; }
  } });
  return h('div', { class: 'card sample' }, field(t('ad.sample.name'), name), field(t('ad.sample.text'), text), field(t('ad.sample.file'), file));
}

function checkReport(report) {
  const box = h('div', { id: 'check-report' });
  box.append(h('p', { class: report.ok ? 'ok' : 'bad', id: 'check-verdict', text: report.ok ? t('ad.check.ok') : t('ad.check.failed') }));
  const c = report.check;
  if (c.definition?.length) box.append(h('h2', { text: t('ad.check.definition') }), h('ul', {}, c.definition.map((d) => h('li', { text: d }))));
  for (const s of c.samples || []) {
    box.append(h('h2', { text: `${s.file} (${s.record_type})` }),
      h('p', { class: s.ok ? 'ok' : 'bad', text: s.ok ? t('ad.sample.ok') : t('ad.sample.failed') }));
    if (s.errors?.length) box.append(fieldErrors(s.errors));
    if (s.warnings?.length) box.append(h('p', { class: 'warn', text: t('ad.warnings') }), fieldErrors(s.warnings));
    if (s.canonical) box.append(h('details', {}, h('summary', { text: t('ad.canonical') }), h('pre', { class: 'canonical', text: JSON.stringify(s.canonical, null, 2) })));
  }
  if (c.warnings?.length) box.append(h('h2', { text: t('ad.mapping') }), h('pre', { text: JSON.stringify(c.warnings, null, 2) }));
  return box;
}

function dryRunForm() {
  const def = h('textarea', { id: 'definition', spellcheck: 'false', rows: 14 });
  const samples = h('div', { id: 'samples' }, sampleRow());
  const strict = h('input', { type: 'checkbox', id: 'strict' });
  const out = slot();
  const submission = (dry) => {
    const map = {};
    for (const s of samples.querySelectorAll('.sample')) {
      const n = s.querySelector('.sample-name').value.trim();
      if (n) map[n] = s.querySelector('.sample-text').value;
    }
    return { definition: def.value, samples: map, strict: strict.checked, dry_run: dry };
  };
  return h('section', { 'aria-labelledby': 'dry-h' },
    h('h2', { id: 'dry-h', text: t('ad.dry.title') }),
    h('p', { class: 'muted', text: t('ad.dry.help') }),
    field(t('ad.definition'), def),
    field(t('ad.definition.file'), h('input', { type: 'file', accept: '.toml', onchange: async (e) => { const f = e.target.files[0]; if (f) def.value = await f.text(); } })),
    samples,
    h('div', { class: 'row' },
      h('button', { type: 'button', text: t('ad.sample.add'), onclick: () => samples.append(sampleRow()) }),
      h('label', {}, strict, ` ${t('ad.strict')}`)),
    h('div', { class: 'row' },
      h('button', { type: 'button', class: 'primary', id: 'dry-run', text: t('ad.dry.run'), onclick: async () => {
        const r = await api('POST', '/v1/adapters', submission(true));
        out.replaceChildren(r.ok ? checkReport(r.body) : problemView(r.problem));
      } }),
      h('button', { type: 'button', id: 'register', text: t('ad.register'), onclick: async () => {
        if (!(await confirmAct(t('ad.confirm.register')))) return;
        const r = await api('POST', '/v1/adapters', submission(false));
        if (r.ok) {
          out.replaceChildren(h('p', { class: 'notice', id: 'registered', text: t('ad.registered', { name: r.body.adapter, v: r.body.version }) }), checkReport({ ok: true, check: r.body.check }));
        } else {
          const reg = r.problem?.registration;
          out.replaceChildren(problemView(r.problem), reg ? checkReport({ ok: false, check: reg.check }) : '');
        }
      } })),
    out);
}

export async function routesPolicy() {
  const parts = [];
  const routes = await api('GET', '/v1/routes');
  if (routes.ok) {
    parts.push(h('h2', { text: t('po.routes') }), table([t('col.record'), t('po.from'), t('po.agencies'), t('col.destination'), t('po.orderkey'), t('col.source')],
      (routes.body.routes || []).map((r) => [r.record_type, r.from_adapters.join(', ') || t('all'), r.agencies.join(', ') || t('all'), r.to.join(', '), h('code', { text: r.order_key ?? '–' }), r.source])));
  }
  if (has('admin', 'auditor', 'consumer')) {
    const member = h('input', { type: 'text', id: 'grants-member', value: has('consumer') && !has('admin', 'auditor') ? state.session.member : '' });
    const out = slot();
    const show = async () => {
      const q = member.value ? `?member=${encodeURIComponent(member.value)}` : '';
      const r = await api('GET', `/v1/policy/grants${q}`);
      out.replaceChildren(r.ok ? h('div', { id: 'grants' }, table([t('col.record'), t('col.purpose'), t('po.basis'), t('po.fields')],
        r.body.grants.map((g) => [g.record_type, g.purpose, g.legal_basis, g.fields.join(', ')])),
      h('p', { class: 'muted', text: t('po.rate', { n: r.body.rate_limit_per_minute ?? '–' }) })) : problemView(r.problem));
    };
    const purpose = h('input', { type: 'text', id: 'explain-purpose' });
    const fields = h('input', { type: 'text', id: 'explain-fields', placeholder: 'full_name,date_of_birth' });
    const why = slot();
    parts.push(h('h2', { text: t('po.grants') }),
      h('div', { class: 'row' }, field(t('col.member'), member), h('button', { type: 'button', id: 'grants-show', onclick: show, text: t('show') })), out,
      h('h2', { text: t('po.explain') }),
      h('div', { class: 'row' }, field(t('col.purpose'), purpose), field(t('po.fields'), fields),
        h('button', { type: 'button', text: t('po.explain.ask'), onclick: async () => {
          const p = new URLSearchParams({ purpose: purpose.value, fields: fields.value, record_type: 'citizen' });
          if (member.value) p.set('member', member.value);
          const r = await api('GET', `/v1/policy/explain?${p}`);
          why.replaceChildren(r.ok ? h('pre', { text: JSON.stringify(r.body, null, 2) }) : problemView(r.problem));
        } })), why);
    await show();
  }
  page(t('nav.policy'), ...parts);
}

export async function dead() {
  const status = await api('GET', '/v1/relay/status');
  const dest = h('select', { id: 'dead-destination' }, h('option', { value: '', text: t('all') }),
    (status.ok ? status.body.destinations : []).map((d) => h('option', { value: d.destination, text: d.destination })));
  const rtype = h('input', { type: 'text', id: 'dead-type' });
  const reason = h('input', { type: 'text', id: 'dead-reason' });
  const since = h('input', { type: 'datetime-local', id: 'dead-since' });
  const list = slot();
  const detail = slot();
  const mayAct = has('admin', 'provider');
  const filter = () => {
    const p = new URLSearchParams();
    if (dest.value) p.set('destination', dest.value);
    if (rtype.value) p.set('record_type', rtype.value);
    return p;
  };
  const load = async () => {
    const r = await api('GET', `/v1/dead?${filter()}`);
    if (!r.ok) { list.replaceChildren(problemView(r.problem)); return; }
    // Reason and time are matched here, on the list the API gave.
    const after = since.value ? new Date(fromLocalInput(since.value)).getTime() : null;
    const shown = r.body.dead_letters.filter((d) => (!reason.value || d.reason.toLowerCase().includes(reason.value.toLowerCase()))
      && (after === null || new Date(d.parked_at).getTime() >= after));
    const rows = shown.map((d) => [
      mayAct ? h('input', { type: 'checkbox', class: 'pick', 'aria-label': `${d.destination} ${d.seq}`, 'data-dest': d.destination, 'data-seq': d.seq }) : '',
      fmtTime(d.parked_at), d.destination, d.record_type, d.order_key ?? '–', String(d.attempts), d.reason,
      h('button', { text: t('details'), class: 'dead-show', onclick: () => show(d.destination, d.seq) })]);
    list.replaceChildren(h('p', { id: 'dead-total', text: t('dl.total', { n: fmtNum(shown.length) }) }),
      table(['', t('col.time'), t('col.destination'), t('col.record'), t('dl.orderkey'), t('dl.attempts'), t('dl.reason'), ''], rows, 'dead'));
  };
  const act = async (verb, d, seq) => {
    const path = `/v1/dead/${encodeURIComponent(d)}/${seq}`;
    return verb === 'discard' ? api('DELETE', path) : api('POST', `${path}/replay`);
  };
  const show = async (d, seq) => {
    const r = await api('GET', `/v1/dead/${encodeURIComponent(d)}/${seq}`);
    if (!r.ok) { detail.replaceChildren(problemView(r.problem)); return; }
    const x = r.body;
    const path = await api('GET', `/v1/exchanges/${encodeURIComponent(x.exchange_id)}`);
    detail.replaceChildren(h('section', { class: 'card', id: 'dead-detail' },
      h('h2', { text: `${x.destination} #${x.seq}` }),
      table([t('dl.reason'), t('dl.attempts'), t('dl.last')], [[x.reason, String(x.attempts), h('code', { text: x.last_response ?? '–' })]]),
      h('h2', { text: t('dl.answers') }),
      table([t('col.time'), t('dl.reason'), t('dl.answer')], (x.answers || []).map((a) => [fmtTime(a.at), a.reason, h('code', { text: a.response ?? '–' })]), 'answers'),
      path.ok ? h('div', {}, h('h2', { text: t('dl.history') }), pathTable(path.body.path)) : '',
      h('details', { open: true }, h('summary', { text: t('dl.record') }), h('pre', { text: JSON.stringify(x.record, null, 2) })),
      mayAct ? h('div', { class: 'row' },
        h('button', { class: 'primary', id: 'dead-replay-one', text: t('dl.replay'), onclick: async () => {
          if (!(await confirmAct(t('dl.confirm.replay', { n: 1 })))) return;
          const a = await act('replay', d, seq);
          detail.replaceChildren(a.ok ? h('p', { class: 'notice', id: 'dead-done', text: t('dl.replayed', { n: 1 }) }) : problemView(a.problem));
          load();
        } }),
        h('button', { class: 'danger', text: t('dl.discard'), onclick: async () => {
          if (!(await confirmAct(t('dl.confirm.discard')))) return;
          const a = await act('discard', d, seq);
          detail.replaceChildren(a.ok ? h('p', { class: 'notice', text: t('dl.discarded') }) : problemView(a.problem));
          load();
        } })) : ''));
  };
  const controls = h('div', { class: 'row' }, field(t('col.destination'), dest), field(t('col.record'), rtype),
    field(t('dl.reason'), reason), field(t('dl.since'), since),
    h('button', { type: 'button', id: 'dead-filter', text: t('show'), onclick: load }));
  const bulk = mayAct ? h('div', { class: 'row' },
    h('button', { type: 'button', id: 'dead-replay-picked', text: t('dl.replay.picked'), onclick: async () => {
      const picked = [...list.querySelectorAll('input.pick:checked')];
      if (!picked.length || !(await confirmAct(t('dl.confirm.replay', { n: picked.length })))) return;
      let done = 0; const failed = [];
      for (const p of picked) { const a = await act('replay', p.dataset.dest, p.dataset.seq); if (a.ok) done++; else failed.push(a.problem); }
      detail.replaceChildren(h('p', { class: 'notice', id: 'dead-done', text: t('dl.replayed', { n: done }) }), ...failed.map(problemView));
      load();
    } }),
    h('button', { type: 'button', id: 'dead-replay-all', text: t('dl.replay.all'), onclick: async () => {
      if (!(await confirmAct(t('dl.confirm.all')))) return;
      const a = await api('POST', `/v1/dead/replay?${filter()}`);
      detail.replaceChildren(a.ok ? h('p', { class: 'notice', id: 'dead-done', text: t('dl.replayed', { n: a.body.replayed }) }) : problemView(a.problem));
      load();
    } })) : '';
  page(t('nav.dead'), controls, bulk, list, detail);
  await load();
}

/** The path of one exchange: its audit entries in order. */
export function pathTable(path) {
  return table([t('col.entry'), t('col.time'), t('ex.step'), t('col.operation'), t('col.outcome'), t('col.counterparty'), t('col.code')],
    (path || []).map((p) => [String(p.index), fmtTime(p.time), p.step, p.operation, outcomeText(p.outcome), p.counterparty ?? '–', p.error_code ?? '–']), 'path');
}

export async function exchanges() {
  const id = h('input', { type: 'text', id: 'ex-id' });
  const code = h('input', { type: 'text', id: 'ex-dossier' });
  const out = slot();
  const render = (list) => h('div', {}, list.map((x) => h('section', { class: 'card' },
    h('h2', { text: `${x.record_type} · ${x.exchange_id}` }),
    h('p', {}, `${t('col.member')}: ${x.member} · ${t('col.time')}: ${fmtTime(x.received_at)} · `, outcomeText(x.outcome)),
    pathTable(x.path))));
  page(t('nav.exchanges'), h('form', { class: 'row', onsubmit: async (e) => {
    e.preventDefault();
    const r = id.value.trim()
      ? await api('GET', `/v1/exchanges/${encodeURIComponent(id.value.trim())}`)
      : await api('GET', `/v1/exchanges?${new URLSearchParams({ dossier_code: code.value.trim() })}`);
    out.replaceChildren(r.ok ? render(r.body.exchanges || [r.body]) : problemView(r.problem));
  } }, field(t('ex.id'), id), field(t('ex.dossier'), code), h('button', { class: 'primary', text: t('find') })), out);
}

export async function quality() {
  const period = h('select', { id: 'q-period' }, ['month', 'quarter', 'year', 'day'].map((p) => h('option', { value: p, text: t(`q.${p}`) })));
  const by = h('select', { id: 'q-by' }, h('option', { value: '', text: '–' }), ['agency', 'province', 'procedure', 'field'].map((p) => h('option', { value: p, text: t(`q.by.${p}`) })));
  const asOf = h('input', { type: 'datetime-local', id: 'q-asof' });
  const out = slot();
  const load = async () => {
    const p = new URLSearchParams({ period: period.value });
    if (by.value) p.set('by', by.value);
    if (asOf.value) p.set('as_of', fromLocalInput(asOf.value));
    const r = await api('GET', `/v1/quality?${p}`);
    if (!r.ok) { out.replaceChildren(problemView(r.problem)); return; }
    const q = r.body;
    const f = q.total.figures;
    out.replaceChildren(
      h('p', { class: 'muted', text: t('q.asof', { t: fmtTime(q.as_of) }) }),
      h('div', { class: 'cards' }, [['q.received', f.received], ['q.ontime', f.finished_on_time], ['q.late', f.finished_late], ['q.overdue', f.open_overdue], ['q.sync', f.synchronised], ['q.online', f.submitted_online], ['q.paid', f.paid_online]]
        .map(([k, v]) => h('div', { class: 'card' }, t(k), h('strong', { text: fmtNum(v) })))),
      h('p', { id: 'q-points', text: t('q.points', { p: q.total.points.toFixed(2), m: q.total.points_measured_max }) }),
      table([t('q.group'), t('q.indicator'), t('q.pts'), t('q.max'), t('q.formula')],
        q.total.scores.map((s) => [s.group, s.indicator, s.points === null ? h('span', { class: 'muted', text: t('q.notmeasured') }) : s.points.toFixed(2), String(s.max), s.formula])),
      q.rows.length > 1 || by.value ? h('div', {}, h('h2', { text: t('q.rows') }), table([t('q.period'), t('q.key'), t('q.received'), t('q.ontime'), t('q.late'), t('q.overdue'), t('q.pts')],
        q.rows.map((row) => [row.period, row.key ?? '–', fmtNum(row.figures.received), fmtNum(row.figures.finished_on_time), fmtNum(row.figures.finished_late), fmtNum(row.figures.open_overdue), row.points.toFixed(2)]))) : '',
      h('h2', { text: t('q.overdue.list', { n: q.overdue_now }) }),
      table([t('q.dossier'), t('q.agency'), t('q.procedure'), t('q.due'), t('q.hours')],
        q.overdue.map((o) => [o.dossier_code, o.resolving_agency, o.procedure_code, fmtTime(o.due_at), o.hours_overdue.toFixed(1)])));
  };
  page(t('nav.quality'), h('div', { class: 'row' }, field(t('q.period'), period), field(t('q.by'), by), field(t('q.asof.input'), asOf),
    h('button', { type: 'button', class: 'primary', text: t('show'), onclick: load })), out);
  await load();
}
