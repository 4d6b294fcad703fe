//! JSON documents through the population register's adapter.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (adapter, schemas) = lienthong_fuzz::adapter("population-registry");
    let _ = lienthong::validate::translated::translate_validate(adapter, schemas, "citizen", data);
});
