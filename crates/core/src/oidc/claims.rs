//! Which user claims each scope releases (OIDC Core §5.4).

use portcullis_protocol::ScopeSet;
use serde_json::{Map, Value};

/// The claims of each claim-releasing scope, as OIDC Core §5.4 lists them.
pub const SCOPE_CLAIMS: [(&str, &[&str]); 4] = [
    (
        "profile",
        &[
            "name",
            "family_name",
            "given_name",
            "middle_name",
            "nickname",
            "preferred_username",
            "profile",
            "picture",
            "website",
            "gender",
            "birthdate",
            "zoneinfo",
            "locale",
            "updated_at",
        ],
    ),
    ("email", &["email", "email_verified"]),
    ("address", &["address"]),
    ("phone", &["phone_number", "phone_number_verified"]),
];

/// Every claim Portcullis can release, for `claims_supported`.
pub fn supported() -> Vec<&'static str> {
    let mut all: Vec<&str> = ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce"]
        .into_iter()
        .chain(["amr", "azp", "at_hash", "sid"])
        .chain(SCOPE_CLAIMS.iter().flat_map(|(_, c)| c.iter().copied()))
        .collect();
    all.sort_unstable();
    all.dedup();
    all
}

/// Of `available` (everything known about the user, by claim name), the
/// claims `scopes` release.
pub fn released(available: &Map<String, Value>, scopes: &ScopeSet) -> Map<String, Value> {
    let mut out = Map::new();
    for (scope, claims) in SCOPE_CLAIMS {
        if !scopes.contains_str(scope) {
            continue;
        }
        for claim in claims {
            if let Some(v) = available.get(*claim) {
                out.insert((*claim).to_owned(), v.clone());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn each_scope_releases_its_own_claims_only() {
        let Value::Object(all) = json!({
            "name": "Ada Lovelace", "email": "ada@example.com", "email_verified": true,
            "phone_number": "+441234567890", "address": {"country": "UK"}, "updated_at": 5,
        }) else {
            unreachable!()
        };
        let got = released(&all, &ScopeSet::parse("openid email").unwrap());
        assert_eq!(
            Value::Object(got),
            json!({"email": "ada@example.com", "email_verified": true})
        );
        let got = released(
            &all,
            &ScopeSet::parse("openid profile phone address").unwrap(),
        );
        assert_eq!(got.len(), 4, "{got:?}");
        assert!(released(&all, &ScopeSet::parse("openid").unwrap()).is_empty());
        assert!(supported().contains(&"email_verified"));
    }
}
