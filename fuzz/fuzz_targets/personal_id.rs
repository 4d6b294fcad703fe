//! Personal ID numbers.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = lienthong::model::PersonalId::parse(&String::from_utf8_lossy(data));
});
