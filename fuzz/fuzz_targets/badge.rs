#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(b) = capiscio_tui::core::badge::decode(s) {
            let key = capiscio_tui::core::key::KeyPair::from_seed(&[7; 32]);
            let _ = b.offline_state(1_800_000_000);
            let _ = b.is_for(&[&key.public().did_key()], "a", Some(key.public()));
            let keys = [capiscio_tui::core::badge::IssuerKey { kid: b.header_kid.clone(), key: *key.public() }];
            let _ = b.verify_with_keys(&keys);
            let ev = capiscio_tui::core::status::Evidence { issuer_keys: Some(Ok(&keys)), revoked: Some(Ok(false)), agent_status: Some(Ok(Some("active".into()))) };
            let v = capiscio_tui::core::status::classify(&b, true, Some(&ev), 1_800_000_000);
            let _ = capiscio_tui::core::status::problems_for(&v, &b, "a");
        }
    }
});
