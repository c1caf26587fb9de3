#![no_main]
use capiscio_tui::registry::model;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = model::agent_record(&v);
        let _ = model::agent_list(&v);
        let _ = model::entity_status(&v);
        let _ = model::badge_status(&v);
        let _ = model::revocations(&v);
        let _ = model::jwks(&v);
        let _ = model::issued_badge(&v);
        let _ = model::server_record(&v);
        let _ = model::error_message(&v);
    }
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = model::parse_rfc3339(s);
    }
});
