//! Signed checkpoints (notes) and verifier keys.
#![no_main]
use libfuzzer_sys::fuzz_target;
use lienthong::audit::note::{Checkpoint, Verifier};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = Checkpoint::verify(&text, lienthong_fuzz::verifier());
    let _ = Checkpoint::parse(&text);
    let _ = Verifier::parse(&text);
});
