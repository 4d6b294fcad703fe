//! Adapter definitions: compiled, and when they compile, used outbound on an empty record.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(adapter) =
        lienthong::translate::Adapter::from_toml("fuzzed.toml", &text, lienthong_fuzz::schemas())
    {
        let types: Vec<String> = adapter.record_types().map(str::to_string).collect();
        for t in types {
            let _ = adapter.outbound(&t, &serde_json::json!({}));
        }
    }
});
