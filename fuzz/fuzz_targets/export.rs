//! Audit exports, verified offline.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = lienthong::audit::export::verify(data, lienthong_fuzz::verifier(), |_| {});
});
