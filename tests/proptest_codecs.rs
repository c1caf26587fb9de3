//! Property tests for the codecs: every serialisation round-trips to the same key,
//! and no parser panics on arbitrary input.

use capiscio_tui::core::export::{self, Format, Request, Target};
use capiscio_tui::core::key::KeyPair;
use capiscio_tui::core::{badge, did, jwk, pem};
use proptest::prelude::*;

fn key() -> impl Strategy<Value = KeyPair> {
    any::<[u8; 32]>().prop_map(|s| KeyPair::from_seed(&s))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn jwk_round_trips(k in key()) {
        let go = jwk::to_go_private(&k);
        let p = jwk::parse_private(&go).unwrap();
        prop_assert_eq!(&p.key, &k);
        prop_assert!(p.x_matches());
        prop_assert_eq!(p.kid_status(), jwk::KidStatus::Matches);
        let compact = jwk::to_env_compact(&k);
        prop_assert_eq!(&jwk::parse_private(&compact).unwrap().key, &k);
        let public = jwk::parse_public(&jwk::to_go_public(k.public())).unwrap();
        prop_assert_eq!(public.x, *k.public());
    }

    #[test]
    fn pem_round_trips(k in key()) {
        let p = pem::encode_private(&k);
        prop_assert_eq!(p.len(), 119);
        prop_assert_eq!(&pem::parse_private(&p).unwrap().0, &k);
        prop_assert_eq!(&pem::parse_private(&pem::escape_newlines(&p)).unwrap().0, &k);
        prop_assert_eq!(pem::parse_public(&pem::encode_public(k.public())).unwrap(), *k.public());
    }

    #[test]
    fn did_key_round_trips(k in key()) {
        let d = k.public().did_key();
        prop_assert!(d.starts_with("did:key:z6Mk"));
        prop_assert_eq!(d.len(), 56);
        prop_assert_eq!(did::parse_did_key(&d).unwrap(), *k.public());
    }

    #[test]
    fn env_line_through_sh_quote_round_trips(k in key()) {
        for target in [Target::Agent, Target::McpServer] {
            let line = export::render(Format::Env, &Request { key: &k, target, label: "x" });
            let (_, quoted) = line.trim_end().split_once('=').unwrap();
            let inner = &quoted[1..quoted.len() - 1];
            let back = match target {
                Target::Agent => jwk::parse_private(inner).unwrap().key,
                Target::McpServer => pem::parse_private(inner).unwrap().0,
            };
            prop_assert_eq!(&back, &k);
        }
    }

    #[test]
    fn parsers_never_panic(s in ".{0,300}") {
        let _ = jwk::parse_private(&s);
        let _ = jwk::parse_public(&s);
        let _ = pem::parse_private(&s);
        let _ = pem::parse_public(&s);
        let _ = did::parse_did_key(&s);
        let _ = did::parse_did_web(&s);
        let _ = badge::decode(&s);
    }

    #[test]
    fn parsers_never_panic_on_near_misses(k in key(), cut in 0usize..200, junk in "[\\x00-\\x7f]{0,8}") {
        let go = jwk::to_go_private(&k);
        let mut s = go[..cut.min(go.len())].to_string();
        s.push_str(&junk);
        let _ = jwk::parse_private(&s);
        let p = pem::encode_private(&k);
        let mut t = p[..cut.min(p.len())].to_string();
        t.push_str(&junk);
        let _ = pem::parse_private(&t);
        let d = format!("did:web:{junk}:agents:{cut}");
        let _ = did::parse_did_web(&d);
    }
}
