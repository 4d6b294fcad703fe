// Checks an audit entry's inclusion proof in the browser, with WebCrypto only: the leaf is
// SHA-256(0x00 ‖ entry bytes), nodes SHA-256(0x01 ‖ left ‖ right) (RFC 9162, 2.1.1); the root
// the proof leads to (RFC 9162, 2.1.3.2) must be the root of a checkpoint (C2SP
// tlog-checkpoint) whose Ed25519 signature (C2SP signed-note) verifies with the hub's published
// key. Nothing here trusts the hub's own word that the proof is good.

const enc = new TextEncoder();

export function b64decode(s) {
  const bin = atob(s.trim());
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
}

function equal(a, b) {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

export const leafHash = (data) => sha256(concat([0], data));
const nodeHash = (l, r) => sha256(concat([1], l, r));

/** The root an inclusion proof leads to, or an Error. */
export async function rootFromInclusion(index, size, leaf, proof) {
  let fn = BigInt(index), sn = BigInt(size) - 1n;
  if (BigInt(index) >= BigInt(size)) throw new Error(`index ${index} is not below size ${size}`);
  let r = leaf;
  for (const p of proof) {
    if (p.length !== 32) throw new Error('a hash of the proof is not 32 bytes');
    if (sn === 0n) throw new Error('the proof is too long');
    if ((fn & 1n) === 1n || fn === sn) {
      r = await nodeHash(p, r);
      if ((fn & 1n) === 0n) {
        while ((fn & 1n) === 0n && fn !== 0n) { fn >>= 1n; sn >>= 1n; }
      }
    } else {
      r = await nodeHash(r, p);
    }
    fn >>= 1n; sn >>= 1n;
  }
  if (sn !== 0n) throw new Error('the proof is too short');
  return r;
}

/** A verifier key `<name>+<key id>+<base64(0x01 ‖ key)>`, its id checked. */
export async function parseVerifierKey(text) {
  // The base64 key may hold '+' itself: only the first two separate.
  const t = text.trim();
  const a = t.indexOf('+'), b = a < 0 ? -1 : t.indexOf('+', a + 1);
  const [name, id, key] = b < 0 ? [] : [t.slice(0, a), t.slice(a + 1, b), t.slice(b + 1)];
  if (!name || !id || !key) throw new Error('a verifier key is <name>+<key id>+<base64 key>');
  const bytes = b64decode(key);
  if (bytes.length !== 33 || bytes[0] !== 1) throw new Error('not an Ed25519 verifier key');
  const digest = await sha256(concat(enc.encode(`${name}\n`), bytes));
  const hex = [...digest.slice(0, 4)].map((b) => b.toString(16).padStart(2, '0')).join('');
  if (hex !== id.toLowerCase()) throw new Error(`the key id ${id} does not match the key (${hex})`);
  return { name, id: digest.slice(0, 4), raw: bytes.slice(1) };
}

/** A signed checkpoint's origin, size and root, after its signature by `verifier` verifies. */
export async function openCheckpoint(note, verifier) {
  const cut = note.lastIndexOf('\n\n');
  if (cut < 0) throw new Error('the checkpoint is not a signed note');
  const text = note.slice(0, cut + 1);
  const sigs = note.slice(cut + 2).split('\n').filter(Boolean);
  const key = await crypto.subtle.importKey('raw', verifier.raw, { name: 'Ed25519' }, false, ['verify']);
  let verified = false;
  for (const line of sigs) {
    const m = line.match(/^\u2014 (\S+) (\S+)$/);
    if (!m || m[1] !== verifier.name) continue;
    const blob = b64decode(m[2]);
    if (blob.length !== 68 || !equal(blob.slice(0, 4), verifier.id)) continue;
    verified = await crypto.subtle.verify({ name: 'Ed25519' }, key, blob.slice(4), enc.encode(text));
    if (verified) break;
  }
  if (!verified) throw new Error(`no valid signature by ${verifier.name} on the checkpoint`);
  const [origin, size, root] = text.split('\n');
  if (origin !== verifier.name) throw new Error(`the checkpoint's origin ${origin} is not the key's name`);
  if (!/^(0|[1-9]\d*)$/.test(size)) throw new Error(`the tree size ${size} is not a number`);
  const rootBytes = b64decode(root);
  if (rootBytes.length !== 32) throw new Error('the root hash is not 32 bytes');
  return { origin, size, root: rootBytes };
}

/**
 * Checks that `entryBytes` is entry `index` of the log whose signed checkpoint is `note`;
 * `proofText` has one base64 hash a line.
 * Resolves to the steps taken, each `{ step, ok, detail }`; `ok` overall only if all are.
 */
export async function verifyInclusion({ entryBytes, index, proofText, note, verifierKey }) {
  const steps = [];
  const step = (name, ok, detail) => { steps.push({ step: name, ok, detail }); return ok; };
  try {
    if (!globalThis.crypto?.subtle) throw new Error('WebCrypto is not available (the console must be served over HTTPS or on loopback)');
    const verifier = await parseVerifierKey(verifierKey);
    step('key', true, verifierKey);
    const cp = await openCheckpoint(note, verifier);
    step('signature', true, `${cp.origin}, ${cp.size}`);
    const proof = proofText.split('\n').map((x) => x.trim()).filter(Boolean).map((x) => {
      try { return b64decode(x); } catch { throw new Error(`not base64: ${x.slice(0, 16)}…`); }
    });
    const leaf = await leafHash(entryBytes);
    const root = await rootFromInclusion(index, cp.size, leaf, proof);
    const ok = equal(root, cp.root);
    step('root', ok, ok ? 'the proof leads to the signed root' : 'the proof leads to another root');
    return { ok, steps };
  } catch (e) {
    step('error', false, e.message || String(e));
    return { ok: false, steps };
  }
}
