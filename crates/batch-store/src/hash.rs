//! SHA-256 digests as the store's content addresses: 64 lowercase hex digits, validated on
//! parse, so a key or a manifest entry can never carry anything else.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A SHA-256 digest in lowercase hex (64 characters).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Sha256Hex(String);

impl Sha256Hex {
    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        Self(batch_base::sha256_hex(bytes))
    }

    /// Parses 64 lowercase hex digits; anything else is `None` (upper case included, so one
    /// digest has one spelling and one key).
    pub fn parse(s: &str) -> Option<Self> {
        (s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
            .then(|| Self(s.to_owned()))
    }

    /// The hex text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first 12 hex digits, for messages.
    pub fn short(&self) -> &str {
        &self.0[..12]
    }
}

impl fmt::Display for Sha256Hex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Sha256Hex {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Sha256Hex {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "invalid sha256 {s:?}: expected 64 lowercase hex digits"
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digest_and_parse_rules() {
        let d = Sha256Hex::of(b"abc");
        assert_eq!(
            d.as_str(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(Sha256Hex::parse(d.as_str()), Some(d.clone()));
        assert_eq!(Sha256Hex::parse(&d.as_str().to_uppercase()), None);
        assert_eq!(Sha256Hex::parse(&d.as_str()[1..]), None);
        assert_eq!(Sha256Hex::parse(&format!("{}0", d.as_str())), None);
        assert_eq!(d.short(), "ba7816bf8f01");
        let bad: Result<Sha256Hex, _> = serde_json::from_str("\"../../etc/passwd\"");
        assert!(bad.is_err());
    }
}
