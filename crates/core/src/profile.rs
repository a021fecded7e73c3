//! What a user says about themselves, as OpenID Connect names it (OIDC Core
//! §5.1): released to clients by scope (`oidc::claims`), set by the
//! operator, an administrator or the user. `preferred_username` is the
//! username and `updated_at` the user's own, so neither is kept here.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The standard claims a user may have. Every field is optional; a field
/// that is `None` is not released. Unknown fields are refused, so a typo
/// is an error and not a silently dropped attribute.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserProfile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub middle_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nickname: Option<String>,
    /// URL of the user's profile page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub picture: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Whether the operator vouches for `email`. The user cannot set it:
    /// changing the address clears it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub email_verified: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gender: Option<String>,
    /// `YYYY-MM-DD`, `YYYY` or `0000-MM-DD` (OIDC Core §5.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birthdate: Option<String>,
    /// An IANA time zone, e.g. `Europe/Paris`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zoneinfo: Option<String>,
    /// A BCP 47 language tag, e.g. `fr-CA`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// E.164, e.g. `+33612345678`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub phone_number_verified: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
}

/// OIDC Core §5.1.1.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Address {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub formatted: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub street_address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locality: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
}

impl Address {
    fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// Longest value of a one-line attribute.
const MAX_LEN: usize = 256;
/// Longest formatted address or street address (several lines).
const MAX_ADDRESS_LEN: usize = 1024;

/// Why a profile was refused, naming the claim.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{claim}: {reason}")]
pub struct ProfileError {
    pub claim: &'static str,
    pub reason: String,
}

fn bad(claim: &'static str, reason: impl Into<String>) -> ProfileError {
    ProfileError {
        claim,
        reason: reason.into(),
    }
}

impl UserProfile {
    /// The one-line text claim named `claim` (`name`, `email`, …), for
    /// forms that edit claims by name; `None` for the flags, the address
    /// and unknown names.
    pub fn text_claim_mut(&mut self, claim: &str) -> Option<&mut Option<String>> {
        Some(match claim {
            "name" => &mut self.name,
            "given_name" => &mut self.given_name,
            "family_name" => &mut self.family_name,
            "middle_name" => &mut self.middle_name,
            "nickname" => &mut self.nickname,
            "profile" => &mut self.profile,
            "picture" => &mut self.picture,
            "website" => &mut self.website,
            "email" => &mut self.email,
            "gender" => &mut self.gender,
            "birthdate" => &mut self.birthdate,
            "zoneinfo" => &mut self.zoneinfo,
            "locale" => &mut self.locale,
            "phone_number" => &mut self.phone_number,
            _ => return None,
        })
    }

    /// Checks every attribute and normalises it: surrounding white space
    /// trimmed, empty strings and an empty address dropped, `email_verified`
    /// or `phone_number_verified` without the value refused.
    pub fn validated(mut self) -> Result<Self, ProfileError> {
        let one_line = |claim: &'static str, v: &mut Option<String>| -> Result<(), ProfileError> {
            normalise(v);
            if let Some(s) = v {
                if s.chars().count() > MAX_LEN {
                    return Err(bad(claim, format!("longer than {MAX_LEN} characters")));
                }
                if s.chars().any(char::is_control) {
                    return Err(bad(claim, "contains control characters"));
                }
            }
            Ok(())
        };
        one_line("name", &mut self.name)?;
        one_line("given_name", &mut self.given_name)?;
        one_line("family_name", &mut self.family_name)?;
        one_line("middle_name", &mut self.middle_name)?;
        one_line("nickname", &mut self.nickname)?;
        one_line("gender", &mut self.gender)?;
        for (claim, v) in [
            ("profile", &mut self.profile),
            ("picture", &mut self.picture),
            ("website", &mut self.website),
        ] {
            one_line(claim, v)?;
            if let Some(s) = v {
                check_url(claim, s)?;
            }
        }
        one_line("email", &mut self.email)?;
        if let Some(e) = &self.email {
            check_email(e)?;
        } else if self.email_verified {
            return Err(bad("email_verified", "set without an email"));
        }
        one_line("birthdate", &mut self.birthdate)?;
        if let Some(b) = &self.birthdate {
            check_birthdate(b)?;
        }
        one_line("zoneinfo", &mut self.zoneinfo)?;
        if let Some(z) = &self.zoneinfo
            && !z
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "/_-+".contains(c))
        {
            return Err(bad("zoneinfo", "not a time zone name such as Europe/Paris"));
        }
        one_line("locale", &mut self.locale)?;
        if let Some(l) = &self.locale {
            check_locale(l)?;
        }
        one_line("phone_number", &mut self.phone_number)?;
        if let Some(p) = &self.phone_number {
            check_phone(p)?;
        } else if self.phone_number_verified {
            return Err(bad("phone_number_verified", "set without a phone number"));
        }
        if let Some(a) = &mut self.address {
            for (claim, v, max) in [
                ("address.formatted", &mut a.formatted, MAX_ADDRESS_LEN),
                (
                    "address.street_address",
                    &mut a.street_address,
                    MAX_ADDRESS_LEN,
                ),
                ("address.locality", &mut a.locality, MAX_LEN),
                ("address.region", &mut a.region, MAX_LEN),
                ("address.postal_code", &mut a.postal_code, MAX_LEN),
                ("address.country", &mut a.country, MAX_LEN),
            ] {
                normalise(v);
                if let Some(s) = v {
                    if s.chars().count() > max {
                        return Err(bad(claim, format!("longer than {max} characters")));
                    }
                    // Multi-line fields may hold line breaks, nothing else.
                    if s.chars().any(|c| c.is_control() && c != '\n' && c != '\r') {
                        return Err(bad(claim, "contains control characters"));
                    }
                }
            }
            if a.is_empty() {
                self.address = None;
            }
        }
        Ok(self)
    }

    /// The profile as claims, by claim name.
    pub fn claims(&self) -> Map<String, Value> {
        match serde_json::to_value(self) {
            Ok(Value::Object(m)) => m,
            _ => Map::new(),
        }
        .into_iter()
        // Verified flags are released whenever their value is (false too).
        .chain(
            self.email
                .as_ref()
                .map(|_| ("email_verified".into(), Value::Bool(self.email_verified))),
        )
        .chain(self.phone_number.as_ref().map(|_| {
            (
                "phone_number_verified".into(),
                Value::Bool(self.phone_number_verified),
            )
        }))
        .collect()
    }

    /// What the user may change about themselves applied to `self`: every
    /// attribute but the verified flags, which a changed value clears.
    pub fn edited_by_user(&self, mut wanted: UserProfile) -> UserProfile {
        wanted.email_verified = self.email_verified && wanted.email == self.email;
        wanted.phone_number_verified =
            self.phone_number_verified && wanted.phone_number == self.phone_number;
        wanted
    }
}

fn normalise(v: &mut Option<String>) {
    if let Some(s) = v {
        let t = s.trim();
        if t.is_empty() {
            *v = None;
        } else if t.len() != s.len() {
            *v = Some(t.to_owned());
        }
    }
}

fn check_url(claim: &'static str, s: &str) -> Result<(), ProfileError> {
    match url::Url::parse(s) {
        Ok(u) if matches!(u.scheme(), "https" | "http") && u.host().is_some() => Ok(()),
        _ => Err(bad(claim, "not an absolute http(s) URL")),
    }
}

fn check_email(e: &str) -> Result<(), ProfileError> {
    let ok = match e.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && !e.chars().any(char::is_whitespace)
        }
        None => false,
    };
    if ok {
        Ok(())
    } else {
        Err(bad("email", "not an email address"))
    }
}

fn check_phone(p: &str) -> Result<(), ProfileError> {
    let digits = p.strip_prefix('+').unwrap_or("");
    let (number, extension) = match digits.split_once(";ext=") {
        Some((n, e)) => (n, Some(e)),
        None => (digits, None),
    };
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if all_digits(number) && number.len() <= 15 && extension.is_none_or(all_digits) {
        Ok(())
    } else {
        Err(bad(
            "phone_number",
            "not an E.164 number such as +33612345678 (an extension as ;ext=1234)",
        ))
    }
}

fn check_birthdate(b: &str) -> Result<(), ProfileError> {
    let parts: Vec<&str> = b.split('-').collect();
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|c| c.is_ascii_digit());
    let ok = match parts.as_slice() {
        [y] => digits(y, 4),
        [y, m, d] => {
            digits(y, 4)
                && digits(m, 2)
                && digits(d, 2)
                && (1..=12).contains(&m.parse::<u8>().unwrap_or(0))
                && (1..=31).contains(&d.parse::<u8>().unwrap_or(0))
        }
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(bad("birthdate", "not YYYY-MM-DD, YYYY or 0000-MM-DD"))
    }
}

fn check_locale(l: &str) -> Result<(), ProfileError> {
    // BCP 47's shape: subtags of 1–8 letters or digits, the first letters.
    let mut subtags = l.split(['-', '_']);
    let first_ok = subtags
        .next()
        .is_some_and(|s| (2..=8).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphabetic()));
    if first_ok
        && subtags
            .all(|s| (1..=8).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric()))
    {
        Ok(())
    } else {
        Err(bad("locale", "not a language tag such as en-GB"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn text_claims_by_name_reach_the_field_the_claim_serializes_as() {
        for claim in [
            "name",
            "given_name",
            "family_name",
            "middle_name",
            "nickname",
            "profile",
            "picture",
            "website",
            "email",
            "gender",
            "birthdate",
            "zoneinfo",
            "locale",
            "phone_number",
        ] {
            let mut p = UserProfile::default();
            *p.text_claim_mut(claim).expect(claim) = Some("x".into());
            assert_eq!(serde_json::to_value(&p).unwrap(), json!({ claim: "x" }));
        }
        let mut p = UserProfile::default();
        for other in ["email_verified", "address", "sub", ""] {
            assert!(p.text_claim_mut(other).is_none(), "{other}");
        }
    }

    #[test]
    fn a_full_profile_validates_and_becomes_claims() {
        let p: UserProfile = serde_json::from_value(json!({
            "name": " Ada Lovelace ", "given_name": "Ada", "family_name": "Lovelace",
            "email": "ada@example.com", "email_verified": true,
            "phone_number": "+441234567890", "birthdate": "1815-12-10",
            "locale": "en-GB", "zoneinfo": "Europe/London",
            "website": "https://ada.example", "nickname": "",
            "address": {"locality": "London", "country": "UK"},
        }))
        .unwrap();
        let p = p.validated().unwrap();
        assert_eq!(p.name.as_deref(), Some("Ada Lovelace"));
        assert_eq!(p.nickname, None, "empty means unset");
        let c = p.claims();
        assert_eq!(c["email_verified"], json!(true));
        assert_eq!(c["phone_number_verified"], json!(false));
        assert_eq!(c["address"], json!({"locality": "London", "country": "UK"}));
        assert!(!c.contains_key("nickname"));
    }

    #[test]
    fn bad_attributes_are_refused_by_name() {
        let refused = |v: Value| {
            serde_json::from_value::<UserProfile>(v)
                .map_err(|e| e.to_string())
                .and_then(|p| p.validated().map_err(|e| e.claim.to_owned()))
                .unwrap_err()
        };
        assert_eq!(refused(json!({"email": "not-an-address"})), "email");
        assert_eq!(refused(json!({"email_verified": true})), "email_verified");
        assert_eq!(
            refused(json!({"phone_number": "0612345678"})),
            "phone_number"
        );
        assert_eq!(refused(json!({"birthdate": "1815-13-10"})), "birthdate");
        assert_eq!(refused(json!({"locale": "english please"})), "locale");
        assert_eq!(
            refused(json!({"website": "javascript:alert(1)"})),
            "website"
        );
        assert_eq!(refused(json!({"name": "x".repeat(300)})), "name");
        assert_eq!(refused(json!({"name": "a\u{0}b"})), "name");
        assert!(refused(json!({"nmae": "typo"})).contains("unknown field"));
    }

    #[test]
    fn a_user_cannot_verify_their_own_address() {
        let stored = UserProfile {
            email: Some("ada@example.com".into()),
            email_verified: true,
            ..Default::default()
        };
        let same = stored.edited_by_user(UserProfile {
            email: Some("ada@example.com".into()),
            email_verified: false,
            name: Some("Ada".into()),
            ..Default::default()
        });
        assert!(same.email_verified, "unchanged address stays verified");
        let changed = stored.edited_by_user(UserProfile {
            email: Some("ada@elsewhere.example".into()),
            email_verified: true,
            ..Default::default()
        });
        assert!(!changed.email_verified);
    }
}
