#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        let old = capiscio_tui::core::key::KeyPair::from_seed(&[1; 32]);
        let new = capiscio_tui::core::key::KeyPair::from_seed(&[2; 32]);
        for mode in [capiscio_tui::core::rotation::Mode::Planned, capiscio_tui::core::rotation::Mode::Emergency] {
            if let Some(out) = capiscio_tui::core::rotation::rotate_card(s, old.public(), new.public(), mode, Some(0)) {
                // A rotated card is always valid JSON naming the new key.
                let v: serde_json::Value = serde_json::from_str(&out).unwrap();
                assert!(v["public_keys"][0]["kid"] == new.public().did_key());
            }
        }
    }
});
