use super::*;
use crate::audit::entry::{AuditDraft, seal};
use crate::audit::merkle::MemoryTree;
use crate::audit::note::{Checkpoint, sign};
use ed25519_dalek::SigningKey;

struct Fixture {
    tree: MemoryTree,
    entries: Vec<(u64, Vec<u8>, Option<Sealed>)>,
    key: SigningKey,
}

fn fixture(n: u64) -> Fixture {
    let mut tree = MemoryTree::default();
    let mut entries = Vec::new();
    for i in 0..n {
        let draft = AuditDraft {
            exchange_id: format!("x{i}"),
            actor: "000.00.00.G07".into(),
            operation: "pull".into(),
            outcome: "allowed".into(),
            subject: (i % 3 != 0).then(|| format!("0010990{:05}", i)),
            ..Default::default()
        };
        let (e, s) = seal(
            draft,
            i,
            format!("2026-11-24T00:{:02}:{:02}.000Z", i / 60, i % 60),
        )
        .unwrap();
        let bytes = e.canonical_bytes();
        tree.push(&bytes);
        entries.push((i, bytes, Some(s)));
    }
    Fixture {
        tree,
        entries,
        key: SigningKey::from_bytes(&[3u8; 32]),
    }
}

fn export(f: &Fixture, from: u64, to: u64, pseudonymise: bool) -> String {
    let c = Checkpoint {
        origin: "test.log".into(),
        size: f.tree.size(),
        root: f.tree.root(),
    };
    let header = Header {
        format: FORMAT.into(),
        checkpoint: sign(&c.text(), "test.log", &f.key).unwrap(),
        from_index: from,
        to_index: to,
        pseudonymised: pseudonymise,
        exported_at: "2026-11-24T00:00:00.000Z".into(),
        from_time: None,
        to_time: None,
    };
    let mut out = Vec::new();
    let items = f.entries[from as usize..to as usize]
        .iter()
        .cloned()
        .map(Ok);
    write(&mut out, &f.tree, &header, f.tree.size(), items, |_| {}).unwrap();
    String::from_utf8(out).unwrap()
}

fn verifier(f: &Fixture) -> Verifier {
    Verifier::new("test.log", f.key.verifying_key()).unwrap()
}

fn check(f: &Fixture, text: &str) -> Result<Verified, Bad> {
    verify(text.as_bytes(), &verifier(f), |_| {})
}

#[test]
fn an_export_verifies_whole_and_in_slices() {
    let f = fixture(300);
    let v = check(&f, &export(&f, 0, 300, false)).unwrap();
    assert_eq!(v.entries, 300);
    assert_eq!(v.subjects_checked, 200);
    let v = check(&f, &export(&f, 17, 129, false)).unwrap();
    assert_eq!((v.from_index, v.to_index, v.entries), (17, 129, 112));
    let v = check(&f, &export(&f, 5, 5, false)).unwrap();
    assert_eq!(v.entries, 0);
    let text = export(&f, 0, 300, true);
    assert!(
        !text.contains("0010990"),
        "no personal ID in a pseudonymised export"
    );
    let v = check(&f, &text).unwrap();
    assert!(v.pseudonymised);
    assert_eq!(v.subjects_checked, 0);
}

#[test]
fn tampering_is_found_on_its_line() {
    let f = fixture(100);
    let text = export(&f, 0, 100, false);
    let lines: Vec<&str> = text.lines().collect();
    let join = |ls: &[String]| ls.join("\n") + "\n";
    let owned: Vec<String> = lines.iter().map(|s| s.to_string()).collect();

    // A changed outcome on entry 41 (line 43).
    let mut t = owned.clone();
    t[42] = t[42].replace("\"outcome\":\"allowed\"", "\"outcome\":\"denied\"");
    let e = check(&f, &join(&t)).unwrap_err();
    assert_eq!((e.line, e.index), (43, Some(41)), "{e}");
    assert!(e.reason.contains("not in the log"), "{e}");

    // A deleted entry.
    let mut t = owned.clone();
    t.remove(11);
    let e = check(&f, &join(&t)).unwrap_err();
    assert_eq!(e.line, 12);
    assert!(e.reason.contains("entry 10 is missing"), "{e}");

    // A cut file.
    let e = check(&f, &join(&owned[..50])).unwrap_err();
    assert!(e.reason.contains("cut short"), "{e}");

    // A subject that is not the one committed to.
    let mut t = owned.clone();
    t[3] = t[3].replace("001099000002", "001099000003");
    let e = check(&f, &join(&t)).unwrap_err();
    assert_eq!(e.index, Some(2));
    assert!(e.reason.contains("subject"), "{e}");

    // A checkpoint signed by another key.
    let other = Fixture {
        key: SigningKey::from_bytes(&[4u8; 32]),
        ..fixture(100)
    };
    let e = check(&f, &export(&other, 0, 100, false)).unwrap_err();
    assert_eq!(e.line, 1);
    assert!(e.reason.contains("checkpoint"), "{e}");

    // Entries outside the time range the header claims.
    let mut t = owned.clone();
    t[0] = t[0].replace(
        "\"pseudonymised\":false",
        "\"pseudonymised\":false,\"from_time\":\"2026-11-24T00:00:05.000Z\"",
    );
    let e = check(&f, &join(&t)).unwrap_err();
    assert_eq!((e.line, e.index), (2, Some(0)), "{e}");
    assert!(e.reason.contains("outside the slice's time range"), "{e}");

    // Garbage.
    let e = check(&f, "{\"format\":").unwrap_err();
    assert_eq!(e.line, 1);
    let mut t = owned.clone();
    t[7] = "not json".into();
    assert_eq!(check(&f, &join(&t)).unwrap_err().line, 8);
}
