#![no_main]
use capiscio_tui::store::env::{EnvSnapshot, inspect_agent, inspect_server, load_secret};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        let env = EnvSnapshot::from_pairs([
            ("CAPISCIO_AGENT_PRIVATE_KEY_JWK".to_string(), s.to_string()),
            ("CAPISCIO_SERVER_PRIVATE_KEY_PEM".to_string(), s.to_string()),
        ]);
        let a = inspect_agent(&env);
        let b = inspect_server(&env);
        // The classifier never says "usable" about a value our loader rejects as a key.
        if let Some(a) = a {
            if a.public.is_some() {
                assert!(load_secret(&env, "CAPISCIO_AGENT_PRIVATE_KEY_JWK").is_ok() || !a.identity.problems.is_empty());
            }
        }
        if let Some(b) = b {
            assert_eq!(b.loadable, load_secret(&env, "CAPISCIO_SERVER_PRIVATE_KEY_PEM").is_ok());
        }
    }
});
