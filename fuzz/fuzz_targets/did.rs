#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(pk) = capiscio_tui::core::did::parse_did_key(s) {
            assert!(capiscio_tui::core::did::parse_did_key(&pk.did_key()).unwrap() == pk);
        }
        if let Ok(w) = capiscio_tui::core::did::parse_did_web(s) {
            let _ = w.agent_id();
            let _ = w.document_url();
        }
        let _ = capiscio_tui::core::did::method(s);
    }
});
