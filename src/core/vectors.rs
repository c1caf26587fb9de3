//! The spec's §10 test vectors (tests/fixtures/vectors.json, copied from the shared
//! spec so the project builds without it), checked against every codec.

#[cfg(test)]
mod tests {
    use crate::core::export::{self, Format, Request, Target};
    use crate::core::key::{KeyPair, hex};
    use crate::core::{b64, did, jwk, pem};
    use serde_json::Value;

    fn vectors() -> Value {
        serde_json::from_str(include_str!("../../tests/fixtures/vectors.json")).unwrap()
    }

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn every_key_vector() {
        let v = vectors();
        let keys = v["keys"].as_array().unwrap();
        assert_eq!(keys.len(), 2);
        for k in keys {
            let s = |f: &str| k[f].as_str().unwrap().to_string();
            let kp = KeyPair::from_seed_slice(&unhex(&s("seed_hex"))).unwrap();
            assert_eq!(hex(kp.public().as_bytes()), s("public_hex"));
            assert_eq!(b64::url_encode(kp.seed()), s("jwk_d"));
            assert_eq!(b64::url_encode(kp.public().as_bytes()), s("jwk_x"));
            assert_eq!(kp.public().did_key(), s("did_key"));
            assert_eq!(kp.public().fingerprint(), s("fingerprint16"));
            assert_eq!(pem::encode_private(&kp).as_str(), s("private_pem_pkcs8_v1"));
            assert_eq!(pem::encode_public(kp.public()), s("public_pem_spki"));
            assert_eq!(jwk::to_go_private(&kp).as_str(), s("private_jwk_go_layout"));
            assert_eq!(jwk::to_go_public(kp.public()), s("public_jwk_go_layout"));
            let agent = export::render(
                Format::Env,
                &Request {
                    key: &kp,
                    target: Target::Agent,
                    label: "x",
                },
            );
            assert_eq!(agent.trim_end_matches('\n'), s("env_line_agent"));
            let server = export::render(
                Format::Env,
                &Request {
                    key: &kp,
                    target: Target::McpServer,
                    label: "x",
                },
            );
            assert_eq!(server.trim_end_matches('\n'), s("env_line_server"));
            // and back again from every serialisation
            assert_eq!(
                jwk::parse_private(&s("private_jwk_go_layout")).unwrap().key,
                kp
            );
            assert_eq!(
                pem::parse_private(&s("private_pem_pkcs8_v1")).unwrap().0,
                kp
            );
            assert_eq!(
                pem::parse_public(&s("public_pem_spki")).unwrap(),
                *kp.public()
            );
            assert_eq!(did::parse_did_key(&s("did_key")).unwrap(), *kp.public());
        }
    }

    #[test]
    fn did_key_decode_and_invalid_vectors() {
        let v = vectors();
        for d in v["did_key_decode"].as_array().unwrap() {
            let pk = did::parse_did_key(d["did"].as_str().unwrap()).unwrap();
            assert_eq!(hex(pk.as_bytes()), d["public_hex"].as_str().unwrap());
        }
        for bad in v["did_key_invalid"].as_array().unwrap() {
            assert!(did::parse_did_key(bad.as_str().unwrap()).is_err(), "{bad}");
        }
    }

    #[test]
    fn did_web_vectors() {
        let v = vectors();
        for d in v["did_web"].as_array().unwrap() {
            let w = did::parse_did_web(d["did"].as_str().unwrap()).unwrap();
            assert_eq!(w.domain, d["domain"].as_str().unwrap());
            assert_eq!(w.agent_id(), d["agent_id"].as_str());
        }
    }

    /// V3: did:key strings quoted in CapiscIO sources (spec §10).
    #[test]
    fn v3_source_did_keys() {
        for (d, h) in [
            (
                "did:key:z6MkqsZXWXcZbFwUrNXBMZg9uHEAj9Ryz6e1Yx97FtBAqxzu",
                "a9aa4307f4137866779783dced68bb63296aced713ef535c68c5be754e6270ea",
            ),
            (
                "did:key:z6MkhaXgBZDvotDUGnNPMBxaukjGbCon2jaGNKEvyV2HoTTR",
                "2e6fcce36701dc786467b820755aef861be85c8546734c5e498906e81474b774",
            ),
            (
                "did:key:z6Mkf5rGMoatrSj1f4CyvuHBeXJELe9RPdzo2PKGNCKVtZxP",
                "095f9a1a595dde755d82786864ad03dfa5a4fbd68832566364e2b65e13cc9e44",
            ),
        ] {
            let pk = did::parse_did_key(d).unwrap();
            assert_eq!(hex(pk.as_bytes()), h);
            assert_eq!(pk.did_key(), d);
        }
        let pk =
            did::parse_did_key("did:key:z6MkqsZXWXcZbFwUrNXBMZg9uHEAj9Ryz6e1Yx97FtBAqxzu").unwrap();
        assert_eq!(
            b64::url_encode(pk.as_bytes()),
            "qapDB_QTeGZ3l4Pc7Wi7YylqztcT71NcaMW-dU5icOo"
        );
        let w3c =
            did::parse_did_key("did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK").unwrap();
        assert_eq!(
            b64::url_encode(w3c.as_bytes()),
            "Lm_M42cB3HkUiODQsXRcweM6TByfzEHGO9ND274JcOY"
        );
    }

    /// V2 extras: PKCS#8 / SPKI bodies, the CLI agent-card `x` form, the SDK env string.
    #[test]
    fn v2_extras() {
        let kp = KeyPair::from_seed_slice(&unhex(
            "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        ))
        .unwrap();
        assert!(
            pem::encode_private(&kp)
                .contains("\nMC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n")
        );
        assert!(
            pem::encode_public(kp.public())
                .contains("\nMCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n")
        );
        assert_eq!(
            b64::std_encode(kp.public().as_bytes()),
            "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
        );
        let env = r#"{"kty":"OKP","crv":"Ed25519","d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","kid":"did:key:z6MktwupdmLXVVqTzCw4i46r4uGyosGXRnR3XjN4Zq7oMMsw"}"#;
        let p = jwk::parse_private(env).unwrap();
        assert_eq!(p.key, kp);
        assert_eq!(p.kid_status(), jwk::KidStatus::Matches);
    }
}
