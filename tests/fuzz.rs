//! Fuzzing on stable Rust, in the test command: a mutation fuzzer over the inputs the hub parses
//! from the outside — XML and JSON documents through the shipped adapters, adapter definitions,
//! personal ID numbers, signed checkpoints, audit exports. Each target starts from its corpus
//! (`tests/fuzz/corpus/<target>/`, real samples) and, for a bounded time, feeds mutated inputs
//! (bit flips, byte edits, truncation, splices of corpus inputs, repeated slices, interesting
//! bytes and numbers) to the parser. Any panic, or an input that takes longer than a second, is a
//! failure; the input is written to `target/fuzz-failures/` and named in the message, and belongs
//! in `tests/fuzz/regressions/<target>/` once fixed (those are replayed first on every run).
//!
//! This is not coverage-guided (cargo-fuzz needs a nightly compiler); it finds shallow crashes
//! cheaply and keeps them found. `LIENTHONG_FUZZ_SECS` sets the time per target (default 10);
//! `LIENTHONG_FUZZ_SEED` the generator's seed (default: from the clock, printed).

mod common;

use lienthong::audit::note::{Checkpoint, Verifier};
use lienthong::model::PersonalId;
use lienthong::translate::Adapter;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::time::{Duration, Instant};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

const INTERESTING: &[&[u8]] = &[
    b"\0",
    b"\xff",
    b"\xc3\x28",
    b"<",
    b">",
    b"&",
    b"&amp;",
    b"&#0;",
    b"&#x110000;",
    b"<!DOCTYPE a [<!ENTITY e \"x\">]>",
    b"<![CDATA[",
    b"]]>",
    b"\"",
    b"\\u0000",
    b"\\ud800",
    b"{",
    b"}",
    b"[",
    b"]",
    b"-1",
    b"18446744073709551616",
    b"1e999",
    b"-0",
    b"9007199254740993",
    b"\n",
    b"\r\n",
    b"\xe2\x80\x94",
    b"\xcc\x81",
    b"=",
    b"+",
    b"/",
];

fn mutate(rng: &mut Rng, input: &[u8], corpus: &[Vec<u8>]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..1 + rng.below(4) {
        let len = out.len();
        match rng.below(9) {
            0 if len > 0 => {
                let i = rng.below(len);
                out[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                out[i] = rng.next() as u8;
            }
            2 if len > 0 => {
                let i = rng.below(len);
                let n = 1 + rng.below(16.min(len - i));
                out.drain(i..i + n);
            }
            3 => {
                let i = rng.below(len + 1);
                let ins = INTERESTING[rng.below(INTERESTING.len())];
                out.splice(i..i, ins.iter().copied());
            }
            4 if len > 0 => {
                out.truncate(rng.below(len));
            }
            5 if len > 0 => {
                // Repeat a slice: deep nesting, long names.
                let i = rng.below(len);
                let n = 1 + rng.below(32.min(len - i));
                let piece: Vec<u8> = out[i..i + n].to_vec();
                let times = 1 + rng.below(64);
                for _ in 0..times {
                    out.splice(i..i, piece.iter().copied());
                }
            }
            6 if !corpus.is_empty() => {
                // Splice with another input.
                let other = &corpus[rng.below(corpus.len())];
                if !other.is_empty() && len > 0 {
                    let a = rng.below(len);
                    let b = rng.below(other.len());
                    out.truncate(a);
                    out.extend_from_slice(&other[b..]);
                }
            }
            7 if len > 1 => {
                // Swap two bytes far apart.
                let (a, b) = (rng.below(len), rng.below(len));
                out.swap(a, b);
            }
            _ => {
                // A digit changed into another: numbers, codes, sizes.
                if let Some(i) = (0..len)
                    .map(|_| rng.below(len))
                    .find(|&i| out[i].is_ascii_digit())
                {
                    out[i] = b'0' + rng.below(10) as u8;
                }
            }
        }
    }
    out
}

fn files_in(dir: &std::path::Path) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        paths.sort();
        for p in paths {
            if p.is_file() {
                out.push(std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

/// Runs `target` over its regressions, its corpus, and mutated inputs for the time budget.
fn fuzz(name: &str, target: impl Fn(&[u8])) {
    let corpus = files_in(&common::repo_path(&format!("tests/fuzz/corpus/{name}")));
    assert!(!corpus.is_empty(), "tests/fuzz/corpus/{name} is empty");
    let regressions = files_in(&common::repo_path(&format!(
        "tests/fuzz/regressions/{name}"
    )));
    let secs: u64 = std::env::var("LIENTHONG_FUZZ_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let seed: u64 = std::env::var("LIENTHONG_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
        });
    let mut rng = Rng(seed);
    let check = |input: &[u8], n: u64| {
        let started = Instant::now();
        let result = catch_unwind(AssertUnwindSafe(|| target(input)));
        let took = started.elapsed();
        if result.is_err() || took > Duration::from_secs(1) {
            let dir = common::repo_path("target/fuzz-failures");
            std::fs::create_dir_all(&dir).unwrap();
            let file = dir.join(format!("{name}-{seed}-{n}"));
            std::fs::write(&file, input).unwrap();
            panic!(
                "fuzz target {name}: {} on input {n} (seed {seed}), written to {}",
                if result.is_err() {
                    "a panic"
                } else {
                    "over a second"
                },
                file.display()
            );
        }
    };
    // Once untimed first: what the target sets up on first use (compiled schemas, the units
    // list) is not a slow input. A panic here is caught again, and reported, by `check`.
    let _ = catch_unwind(AssertUnwindSafe(|| target(&corpus[0])));
    let mut n = 0u64;
    for input in regressions.iter().chain(corpus.iter()) {
        check(input, n);
        n += 1;
    }
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        let base = &corpus[rng.below(corpus.len())];
        let input = mutate(&mut rng, base, &corpus);
        check(&input, n);
        n += 1;
    }
    eprintln!("fuzz target {name}: {n} inputs, seed {seed}, no failure");
}

#[test]
fn fuzz_xml_translation() {
    let adapter = common::load_adapter("motcua-hatinh");
    let schemas = common::registry();
    fuzz("xml", |input| {
        for t in ["dossier", "dossier-status", "document"] {
            let _ = lienthong::validate::translated::translate_validate(adapter, schemas, t, input);
        }
    });
}

#[test]
fn fuzz_json_translation() {
    let adapter = common::load_adapter("population-registry");
    let schemas = common::registry();
    fuzz("json", |input| {
        let _ =
            lienthong::validate::translated::translate_validate(adapter, schemas, "citizen", input);
    });
}

#[test]
fn fuzz_adapter_definitions() {
    let schemas = common::registry();
    fuzz("adapter", |input| {
        let text = String::from_utf8_lossy(input);
        if let Ok(adapter) = Adapter::from_toml("fuzzed.toml", &text, schemas) {
            // A definition that compiles also translates its own sample-free round trip.
            for t in adapter
                .record_types()
                .map(str::to_string)
                .collect::<Vec<_>>()
            {
                let _ = adapter.outbound(&t, &serde_json::json!({}));
            }
        }
    });
}

#[test]
fn fuzz_personal_id_parsing() {
    fuzz("personal-id", |input| {
        let _ = PersonalId::parse(&String::from_utf8_lossy(input));
    });
}

#[test]
fn fuzz_checkpoint_parsing() {
    let key = std::fs::read_to_string(common::repo_path("tests/fuzz/export.key")).unwrap();
    let verifier = Verifier::parse(key.trim()).unwrap();
    fuzz("checkpoint", |input| {
        let text = String::from_utf8_lossy(input);
        let _ = Checkpoint::verify(&text, &verifier);
        let _ = Checkpoint::parse(&text);
        let _ = Verifier::parse(&text);
    });
}

#[test]
fn fuzz_audit_export_parsing() {
    let key = std::fs::read_to_string(common::repo_path("tests/fuzz/export.key")).unwrap();
    let verifier = Verifier::parse(key.trim()).unwrap();
    fuzz("export", |input| {
        let _ = lienthong::audit::export::verify(input, &verifier, |_| {});
    });
}

/// The corpus is what it claims: every seed of the translation targets is accepted, the
/// checkpoint and the export verify (so mutations start from valid inputs).
#[test]
fn the_seeds_are_valid_inputs() {
    let key = std::fs::read_to_string(common::repo_path("tests/fuzz/export.key")).unwrap();
    let verifier = Verifier::parse(key.trim()).unwrap();
    for note in files_in(&common::repo_path("tests/fuzz/corpus/checkpoint")) {
        Checkpoint::verify(&String::from_utf8(note).unwrap(), &verifier).unwrap();
    }
    for export in files_in(&common::repo_path("tests/fuzz/corpus/export")) {
        let v = lienthong::audit::export::verify(export.as_slice(), &verifier, |_| {});
        assert!(v.is_ok());
    }
    assert!(PersonalId::parse("042192004518").is_ok());
}
