#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok((k, _)) = capiscio_tui::core::pem::parse_private(s) {
            let pem = capiscio_tui::core::pem::encode_private(&k);
            assert!(capiscio_tui::core::pem::parse_private(&pem).unwrap().0 == k);
            // and the env form with literal \n
            let esc = capiscio_tui::core::pem::escape_newlines(&pem);
            assert!(capiscio_tui::core::pem::parse_private(&esc).unwrap().0 == k);
        }
        let _ = capiscio_tui::core::pem::parse_public(s);
    }
});
