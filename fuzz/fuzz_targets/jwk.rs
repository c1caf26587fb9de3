#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(p) = capiscio_tui::core::jwk::parse_private(s) {
            let _ = p.x_matches();
            let _ = p.kid_status();
            // Whatever parses must round-trip through our own writers.
            let again = capiscio_tui::core::jwk::parse_private(&capiscio_tui::core::jwk::to_go_private(&p.key)).unwrap();
            assert!(again.key == p.key);
        }
        let _ = capiscio_tui::core::jwk::parse_public(s);
    }
});
