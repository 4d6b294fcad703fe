//! XML documents through the Hà Tĩnh one-stop adapter (SOAP), as each of its record types.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (adapter, schemas) = lienthong_fuzz::adapter("motcua-hatinh");
    for t in ["dossier", "dossier-status", "document"] {
        let _ = lienthong::validate::translated::translate_validate(adapter, schemas, t, data);
    }
});
