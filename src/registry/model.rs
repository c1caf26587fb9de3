//! Registry response shapes, read tolerantly: the published contract disagrees with
//! itself (envelope `{"data": …}` or bare bodies, camelCase or snake_case names), so
//! every reader accepts each documented variant.

use crate::core::b64;
use crate::core::key::PublicKey;
use serde_json::Value;

/// The `data` member of `{"success":…, "data":…}`, or the body itself.
pub fn unwrap_envelope(v: &Value) -> &Value {
    match v.get("data") {
        Some(d) if !d.is_null() => d,
        _ => v,
    }
}

/// The first present, non-null member among name variants.
pub fn field<'a>(v: &'a Value, names: &[&str]) -> Option<&'a Value> {
    names.iter().find_map(|n| v.get(n).filter(|x| !x.is_null()))
}

pub fn str_field(v: &Value, names: &[&str]) -> Option<String> {
    match field(v, names)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Seconds since the epoch from a number or an RFC 3339 string.
pub fn time_field(v: &Value, names: &[&str]) -> Option<i64> {
    match field(v, names)? {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => parse_rfc3339(s),
        _ => None,
    }
}

pub use crate::core::ids::parse_rfc3339;

/// An agent record from `GET /v1/sdk/agents/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AgentRecord {
    pub id: Option<String>,
    pub name: Option<String>,
    pub did: Option<String>,
    pub status: Option<String>,
    #[serde(skip)]
    pub public_key: Option<String>,
}

pub fn agent_record(body: &Value) -> AgentRecord {
    let v = unwrap_envelope(body);
    AgentRecord {
        id: str_field(v, &["id", "agentId", "agent_id"]),
        name: str_field(v, &["name"]),
        did: str_field(v, &["did"]).filter(|d| !d.is_empty()),
        status: str_field(v, &["status", "state"]),
        public_key: str_field(v, &["publicKey", "public_key"]),
    }
}

pub fn agent_list(body: &Value) -> Vec<AgentRecord> {
    match unwrap_envelope(body) {
        Value::Array(items) => items.iter().map(agent_record).collect(),
        _ => Vec::new(),
    }
}

/// `GET /v1/agents/{id}/status` (and the server variant): `active` / `disabled` / `suspended`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct EntityStatus {
    pub status: String,
    pub reason: Option<String>,
}

pub fn entity_status(body: &Value) -> Option<EntityStatus> {
    let v = unwrap_envelope(body);
    let status = str_field(v, &["status", "state"]).or_else(|| {
        field(v, &["active", "isActive", "is_active"])
            .and_then(Value::as_bool)
            .map(|a| if a { "active" } else { "disabled" }.to_string())
    })?;
    Some(EntityStatus {
        status: status.to_ascii_lowercase(),
        reason: str_field(v, &["reason", "disabledReason", "disabled_reason"]),
    })
}

/// `GET /v1/badges/{jti}/status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadgeStatus {
    pub revoked: bool,
    pub reason: Option<String>,
}

pub fn badge_status(body: &Value) -> Option<BadgeStatus> {
    let v = unwrap_envelope(body);
    let revoked = match field(v, &["revoked", "isRevoked", "is_revoked"]) {
        Some(Value::Bool(b)) => *b,
        Some(_) => return None,
        None => match str_field(v, &["status", "state"])?
            .to_ascii_lowercase()
            .as_str()
        {
            "revoked" => true,
            "active" | "valid" | "ok" => false,
            _ => return None,
        },
    };
    Some(BadgeStatus {
        revoked,
        reason: str_field(v, &["reason", "revocationReason", "revocation_reason"]),
    })
}

/// `GET /v1/revocations`: the revoked jtis of one page and the cursor of the next.
pub fn revocations(body: &Value) -> Option<(Vec<String>, Option<String>)> {
    let v = unwrap_envelope(body);
    let list = field(v, &["revocations", "items"])?.as_array()?;
    let jtis = list.iter().filter_map(|r| str_field(r, &["jti"])).collect();
    Some((
        jtis,
        str_field(v, &["nextCursor", "next_cursor", "cursor"]).filter(|c| !c.is_empty()),
    ))
}

/// A registry signing key from the JWKS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaKey {
    pub kid: Option<String>,
    pub key: PublicKey,
}

/// `GET /.well-known/jwks.json`: `{keys:[…]}`, or (as core accepts) a bare single JWK.
/// Keys that are not Ed25519 are skipped, not fatal.
pub fn jwks(body: &Value) -> Vec<CaKey> {
    let v = unwrap_envelope(body);
    let keys: Vec<&Value> = match v.get("keys") {
        Some(Value::Array(k)) => k.iter().collect(),
        _ => vec![v],
    };
    keys.into_iter()
        .filter(|k| {
            k.get("kty").and_then(Value::as_str) == Some("OKP")
                && k.get("crv").and_then(Value::as_str) == Some("Ed25519")
        })
        .filter_map(|k| {
            let x = b64::url_decode(k.get("x")?.as_str()?)?;
            Some(CaKey {
                kid: str_field(k, &["kid"]),
                key: PublicKey::from_slice(&x)?,
            })
        })
        .collect()
}

/// A badge handed out by an issuance endpoint; the token sits under any of four names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedBadge {
    pub token: String,
    pub jti: Option<String>,
    pub expires_at: Option<i64>,
}

pub fn issued_badge(body: &Value) -> Option<IssuedBadge> {
    let data = unwrap_envelope(body);
    let token =
        str_field(data, &["token", "badge"]).or_else(|| str_field(body, &["token", "badge"]))?;
    Some(IssuedBadge {
        token,
        jti: str_field(data, &["jti"]),
        expires_at: time_field(data, &["expiresAt", "expires_at", "exp"]),
    })
}

/// A server record (`GET /v1/sdk/servers/{id}`, `PUT` reply).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ServerRecord {
    pub id: Option<String>,
    pub did: Option<String>,
    #[serde(skip)]
    pub public_key: Option<String>,
    pub status: Option<String>,
    pub org_id: Option<String>,
}

pub fn server_record(body: &Value) -> ServerRecord {
    let v = unwrap_envelope(body);
    ServerRecord {
        id: str_field(v, &["id", "serverId", "server_id"]),
        did: str_field(v, &["did"]).filter(|d| !d.is_empty()),
        public_key: str_field(v, &["publicKey", "public_key"]),
        status: str_field(v, &["status", "state"]),
        org_id: str_field(v, &["orgId", "org_id"]),
    }
}

/// The error text a registry put in its body, whichever member it used.
pub fn error_message(body: &Value) -> Option<String> {
    let m = str_field(body, &["message", "error", "detail"])?;
    Some(m.chars().take(200).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn envelope_and_bare_shapes() {
        let a = json!({"success": true, "data": {"id": "x", "did": "did:web:r:agents:x", "status": "active"}});
        let b = json!({"id": "x", "did": "did:web:r:agents:x", "status": "active"});
        assert_eq!(agent_record(&a), agent_record(&b));
        assert_eq!(agent_record(&json!({"data": {"did": null}})).did, None);
        assert_eq!(
            agent_list(
                &json!({"data":[{"id":"agent-001","name":"First Agent"},{"id":"agent-002"}]})
            )
            .len(),
            2
        );
    }

    #[test]
    fn badge_status_variants() {
        assert!(
            badge_status(&json!({"jti":"j","revoked":true,"reason":"key compromise"}))
                .unwrap()
                .revoked
        );
        assert!(
            !badge_status(&json!({"data":{"isRevoked":false}}))
                .unwrap()
                .revoked
        );
        assert!(badge_status(&json!({"status":"REVOKED"})).unwrap().revoked);
        assert_eq!(badge_status(&json!({"revoked":"maybe"})), None);
        assert_eq!(badge_status(&json!([])), None);
    }

    #[test]
    fn issued_badge_variants() {
        let core = json!({"success": true, "data": {"token": "t1", "jti": "j", "expiresAt": "2024-12-10T00:05:00Z"}});
        assert_eq!(issued_badge(&core).unwrap().expires_at, Some(1733789100));
        let rfc = json!({"badge": "t2", "jti": "j", "expires_at": 1733789100});
        assert_eq!(issued_badge(&rfc).unwrap().token, "t2");
        assert_eq!(
            issued_badge(&json!({"data": {"badge": "t3"}}))
                .unwrap()
                .token,
            "t3"
        );
        assert_eq!(issued_badge(&json!({"data": {}})), None);
    }

    #[test]
    fn jwks_variants() {
        let k = json!({"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","kid":"capiscio-ca-1705315800"});
        assert_eq!(jwks(&json!({"keys":[k.clone(), {"kty":"EC"}]})).len(), 1);
        assert_eq!(jwks(&k)[0].kid.as_deref(), Some("capiscio-ca-1705315800"));
        assert!(jwks(&json!("nope")).is_empty());
    }

    #[test]
    fn rfc3339() {
        assert_eq!(parse_rfc3339("2024-12-10T00:00:00Z"), Some(1733788800));
        assert_eq!(
            parse_rfc3339("2024-12-10T01:00:00.123+01:00"),
            Some(1733788800)
        );
        assert_eq!(parse_rfc3339("2000-02-29T00:00:00Z"), Some(951_782_400));
        assert_eq!(parse_rfc3339("garbage"), None);
        assert_eq!(parse_rfc3339("2024-13-10T00:00:00Z"), None);
        for t in [0i64, 951_782_400, 1733788800, 4_102_444_800] {
            assert_eq!(parse_rfc3339(&crate::core::ids::rfc3339(t)), Some(t));
        }
    }

    #[test]
    fn entity_status_variants() {
        assert_eq!(
            entity_status(&json!({"id":"a","status":"Disabled","reason":"abuse"}))
                .unwrap()
                .status,
            "disabled"
        );
        assert_eq!(
            entity_status(&json!({"data":{"active":true}}))
                .unwrap()
                .status,
            "active"
        );
        assert_eq!(entity_status(&json!({})), None);
    }
}
