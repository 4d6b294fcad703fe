// The auditor's pages: search the log (by subject, member, purpose, operation, outcome, time;
// posted, so that a personal ID never lands in a URL), an entry with its inclusion proof
// checked here in the browser, an export of a slice, and a citizen's report.
import { t, h, api, page, problemView, table, field, slot, fmtTime, fmtNum, outcomeText, fromLocalInput } from './core.js';
import { verifyInclusion, b64decode } from './proof.js';

/** Where the verifier key is pinned in this browser. */
const PIN = 'lienthong.verifier_key';
const OUTCOMES = ['', 'accepted', 'rejected', 'delivered', 'parked', 'allowed', 'denied', 'matched', 'mismatch', 'ok', 'refused'];
const OPERATIONS = ['', 'ingest', 'deliver', 'park', 'pull', 'deny', 'verify', 'replay', 'discard', 'register', 'authenticate', 'console-sign-in'];

export async function audit() {
  const subject = h('input', { type: 'text', id: 'a-subject', inputmode: 'numeric', autocomplete: 'off', placeholder: '12 chữ số' });
  const member = h('input', { type: 'text', id: 'a-member' });
  const purpose = h('input', { type: 'text', id: 'a-purpose' });
  const operation = h('select', { id: 'a-operation' }, OPERATIONS.map((o) => h('option', { value: o, text: o || t('all') })));
  const outcome = h('select', { id: 'a-outcome' }, OUTCOMES.map((o) => h('option', { value: o, text: o || t('all') })));
  const from = h('input', { type: 'datetime-local', id: 'a-from' });
  const to = h('input', { type: 'datetime-local', id: 'a-to' });
  const out = slot();
  const detail = slot();
  let next = null;
  const criteria = () => {
    const q = { limit: 100 };
    if (subject.value.trim()) q.subject = subject.value.trim();
    if (member.value.trim()) q.member = member.value.trim();
    if (purpose.value.trim()) q.purpose = purpose.value.trim();
    if (operation.value) q.operation = operation.value;
    if (outcome.value) q.outcome = outcome.value;
    if (from.value) q.from = fromLocalInput(from.value);
    if (to.value) q.to = fromLocalInput(to.value);
    return q;
  };
  const run = async (after) => {
    const q = criteria();
    if (after) q.after = after;
    const started = performance.now();
    const r = await api('POST', '/v1/audit/search', q);
    const ms = Math.round(performance.now() - started);
    if (!r.ok) { out.replaceChildren(problemView(r.problem)); return; }
    const entries = r.body.entries;
    next = r.body.next;
    out.replaceChildren(
      h('p', { id: 'a-count', text: t('au.found', { n: fmtNum(entries.length), ms }) }),
      table([t('col.entry'), t('col.time'), t('col.actor'), t('col.operation'), t('col.record'), t('col.purpose'), t('au.fields'), t('col.outcome'), ''],
        entries.map((e) => [String(e.index), fmtTime(e.time), e.actor, e.operation, e.record_type ?? '–', e.purpose ?? '–', (e.fields || []).join(', ') || '–', outcomeText(e.outcome),
          h('button', { class: 'a-open', 'data-index': e.index, text: t('au.proof'), onclick: () => entryDetail(e.index, detail) })]), 'audit'),
      next ? h('button', { type: 'button', text: t('more'), onclick: () => run(next) }) : '');
  };
  const exportForm = h('section', { class: 'card' },
    h('h2', { text: t('au.export') }), h('p', { class: 'muted', text: t('au.export.help') }),
    h('div', { class: 'row' }, h('button', { type: 'button', id: 'a-export', text: t('au.export.run'), onclick: async () => {
      const p = new URLSearchParams();
      if (from.value) p.set('from', fromLocalInput(from.value));
      if (to.value) p.set('to', fromLocalInput(to.value));
      const r = await api('GET', `/v1/audit/export?${p}`, undefined, { raw: true });
      if (!r.ok) { detail.replaceChildren(problemView(r.problem)); return; }
      const url = URL.createObjectURL(new Blob([r.body], { type: 'application/x-ndjson' }));
      const a = h('a', { href: url, download: 'lienthong-audit-export.jsonl', id: 'a-export-file', text: t('au.export.file', { n: fmtNum(r.body.split('\n').filter(Boolean).length) }) });
      detail.replaceChildren(h('p', { class: 'notice' }, a));
      a.click();
    } })));
  page(t('nav.audit'),
    h('form', { id: 'a-search', onsubmit: (e) => { e.preventDefault(); run(); } },
      h('div', { class: 'row' }, field(t('au.subject'), subject), field(t('col.member'), member), field(t('col.purpose'), purpose)),
      h('div', { class: 'row' }, field(t('col.operation'), operation), field(t('col.outcome'), outcome), field(t('au.from'), from), field(t('au.to'), to)),
      h('div', { class: 'row' }, h('button', { class: 'primary', id: 'a-find', text: t('find') }))),
    out, detail, exportForm);
}

/** One entry, its proof fetched from the hub and checked here; the proof can be edited (or
 * pasted from an export) and checked again. */
export async function entryDetail(index, where) {
  const cp = await api('GET', '/v1/audit/checkpoint', undefined, { raw: true });
  if (!cp.ok) { where.replaceChildren(problemView(cp.problem)); return; }
  const size = cp.body.split('\n')[1];
  const [inc, keys] = await Promise.all([
    api('GET', `/v1/audit/proof/inclusion?index=${index}&size=${size}`),
    api('GET', '/v1/keys')]);
  if (!inc.ok || !keys.ok) { where.replaceChildren(problemView((inc.ok ? keys : inc).problem)); return; }
  const bytes = b64decode(inc.body.entry_bytes || '');
  // What is shown is what is hashed: the entry is read from the very bytes checked.
  let shown;
  try { shown = JSON.stringify(JSON.parse(new TextDecoder().decode(bytes)), null, 2); } catch { shown = t('au.unreadable'); }
  const proofText = h('textarea', { id: 'proof-text', rows: Math.min(12, inc.body.proof.length + 1), spellcheck: 'false' });
  proofText.value = inc.body.proof.join('\n');
  const noteText = h('textarea', { id: 'proof-note', rows: 5, spellcheck: 'false' });
  noteText.value = cp.body;
  // The key is pinned in this browser on first use: a hub that later signs with another key
  // (its own word about its key) does not pass, and the page says the key changed.
  const published = keys.body.keys[0].verifier_key;
  const pinned = localStorage.getItem(PIN);
  if (!pinned) localStorage.setItem(PIN, published);
  const key = h('input', { type: 'text', id: 'proof-key', value: pinned || published });
  const keyNote = h('p', { id: 'proof-key-note', class: pinned && pinned !== published ? 'bad' : 'muted',
    text: !pinned ? t('au.key.pinned') : pinned !== published ? t('au.key.changed', { k: published }) : t('au.key.same') });
  const verdict = slot();
  const check = async () => {
    verdict.replaceChildren(h('p', { class: 'muted', text: t('au.checking') }));
    const r = await verifyInclusion({ entryBytes: bytes, index, proofText: proofText.value, note: noteText.value, verifierKey: key.value });
    verdict.replaceChildren(h('p', { id: 'proof-verdict', class: r.ok ? 'ok' : 'bad', 'data-ok': String(r.ok), text: r.ok ? t('au.verified', { i: index, n: size }) : t('au.notverified') }),
      table([t('au.step'), '', t('au.detail')], r.steps.map((s) => [t(`au.step.${s.step}`), h('span', { class: s.ok ? 'ok' : 'bad', text: s.ok ? '✓' : '✗' }), s.detail])));
  };
  where.replaceChildren(h('section', { class: 'card', id: 'entry-detail' },
    h('h2', { text: t('au.entry', { i: index }) }),
    h('pre', { id: 'entry-json', text: shown }),
    h('h2', { text: t('au.proof.title') }),
    h('p', { class: 'muted', text: t('au.proof.help') }),
    field(t('au.proof.hashes'), proofText), field(t('au.checkpoint'), noteText), field(t('au.key'), key), keyNote,
    h('div', { class: 'row' }, h('button', { type: 'button', class: 'primary', id: 'proof-check', text: t('au.check'), onclick: check })),
    verdict));
  await check();
  where.scrollIntoView();
}

export async function report() {
  const pid = h('input', { type: 'text', id: 'r-subject', inputmode: 'numeric', autocomplete: 'off', required: true, pattern: '\\d{12}' });
  const from = h('input', { type: 'date', id: 'r-from' });
  const to = h('input', { type: 'date', id: 'r-to' });
  const out = slot();
  page(t('nav.report'),
    h('form', { class: 'noprint', id: 'r-form', onsubmit: async (e) => {
      e.preventDefault();
      const body = { personal_id: pid.value.trim() };
      if (from.value) body.from = `${from.value}T00:00:00+07:00`;
      if (to.value) body.to = `${to.value}T23:59:59+07:00`;
      const r = await api('POST', '/v1/audit/subjects/report', body);
      if (!r.ok) { out.replaceChildren(problemView(r.problem)); return; }
      const x = r.body;
      out.replaceChildren(h('article', { class: 'report', id: 'r-report' },
        h('header', {},
          h('h2', { text: t('rp.title') }),
          h('p', { text: t('rp.subject', { id: x.subject }) }),
          h('p', { text: t('rp.period', { from: x.from ? fmtTime(x.from) : t('rp.start'), to: x.to ? fmtTime(x.to) : t('rp.now') }) }),
          h('p', { text: t('rp.count', { n: fmtNum(x.count) }) })),
        table([t('col.time'), t('rp.who'), t('rp.what'), t('col.purpose'), t('au.fields'), t('col.outcome'), t('col.entry')],
          x.events.map((ev) => [fmtTime(ev.time), ev.who, ev.what, ev.purpose ?? '–', (ev.fields || []).join(', ') || '–', outcomeText(ev.outcome), String(ev.entry_index)])),
        h('p', { class: 'muted', text: t('rp.note') }),
        h('p', { class: 'muted', text: t('rp.printed', { t: fmtTime(new Date().toISOString()) }) }),
        h('button', { type: 'button', class: 'noprint', text: t('print'), onclick: () => window.print() })));
    } },
    h('div', { class: 'row' }, field(t('au.subject'), pid), field(t('au.from'), from), field(t('au.to'), to)),
    h('div', { class: 'row' }, h('button', { class: 'primary', id: 'r-run', text: t('rp.run') }))),
    out);
}
