//! Scopes (RFC 6749 §3.3) and resource-scoped permissions `NAME__RESOURCEID`.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The separator between a permission and the resource it applies to.
pub const RESOURCE_SEPARATOR: &str = "__";

/// One scope token: `1*( %x21 / %x23-5B / %x5D-7E )`, at most 200 bytes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Scope(String);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidScope(pub String);

impl fmt::Display for InvalidScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid scope token `{}`", self.0.escape_debug())
    }
}

impl std::error::Error for InvalidScope {}

impl Scope {
    pub fn parse(s: &str) -> Result<Self, InvalidScope> {
        let ok = !s.is_empty()
            && s.len() <= 200
            && s.bytes()
                .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b));
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(InvalidScope(s.chars().take(64).collect()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `ADDON_USER_APPROVED__AZTH74V2` → (`ADDON_USER_APPROVED`, `Some("AZTH74V2")`);
    /// a plain scope → (itself, `None`). Definition names never contain the
    /// separator, so the first occurrence splits.
    pub fn split_resource(&self) -> (&str, Option<&str>) {
        match self.0.split_once(RESOURCE_SEPARATOR) {
            Some((name, resource)) if !name.is_empty() && !resource.is_empty() => {
                (name, Some(resource))
            }
            _ => (&self.0, None),
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A set of scopes, written space-separated on the wire, kept sorted so that
/// equal sets print equally.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ScopeSet(BTreeSet<Scope>);

impl ScopeSet {
    /// Parse a space-delimited list. Empty input is the empty set; repeated
    /// spaces are tolerated, as many clients join with `+`.
    pub fn parse(s: &str) -> Result<Self, InvalidScope> {
        s.split(' ')
            .filter(|t| !t.is_empty())
            .map(Scope::parse)
            .collect::<Result<BTreeSet<_>, _>>()
            .map(Self)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Scope> {
        self.0.iter()
    }

    pub fn contains(&self, scope: &Scope) -> bool {
        self.0.contains(scope)
    }

    pub fn contains_str(&self, scope: &str) -> bool {
        self.0.iter().any(|s| s.as_str() == scope)
    }

    pub fn is_subset(&self, other: &ScopeSet) -> bool {
        self.0.is_subset(&other.0)
    }

    pub fn insert(&mut self, scope: Scope) {
        self.0.insert(scope);
    }

    /// Takes `scope` out; whether it was there.
    pub fn remove(&mut self, scope: &str) -> bool {
        let before = self.0.len();
        self.0.retain(|s| s.as_str() != scope);
        self.0.len() != before
    }

    /// The set without `scope`.
    pub fn without(mut self, scope: &str) -> Self {
        self.remove(scope);
        self
    }
}

impl FromIterator<Scope> for ScopeSet {
    fn from_iter<T: IntoIterator<Item = Scope>>(iter: T) -> Self {
        Self(iter.into_iter().collect())
    }
}

impl fmt::Display for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for s in &self.0 {
            if !first {
                f.write_str(" ")?;
            }
            first = false;
            f.write_str(s.as_str())?;
        }
        Ok(())
    }
}

impl Serialize for ScopeSet {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ScopeSet {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        ScopeSet::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_space_separated_and_sorts() {
        let s = ScopeSet::parse("write  read").unwrap();
        assert_eq!(s.to_string(), "read write");
        assert_eq!(s.len(), 2);
        assert!(ScopeSet::parse("").unwrap().is_empty());
    }

    #[test]
    fn rejects_forbidden_characters() {
        assert!(Scope::parse("a\"b").is_err());
        assert!(Scope::parse("a\\b").is_err());
        assert!(Scope::parse("é").is_err());
        assert!(Scope::parse("").is_err());
        assert!(Scope::parse(&"x".repeat(201)).is_err());
        assert!(ScopeSet::parse("ok bad\u{7f}").is_err());
    }

    #[test]
    fn splits_resource_scoped_permissions() {
        let s = Scope::parse("ADDON_USER_APPROVED__AZTH74V2").unwrap();
        assert_eq!(
            s.split_resource(),
            ("ADDON_USER_APPROVED", Some("AZTH74V2"))
        );
        let p = Scope::parse("USER_PHONE").unwrap();
        assert_eq!(p.split_resource(), ("USER_PHONE", None));
        let odd = Scope::parse("TRAILING__").unwrap();
        assert_eq!(odd.split_resource(), ("TRAILING__", None));
    }
}
