//! Keyed fingerprints of credential values: how a stateless nodectl knows whether the org holds the
//! current secret of a managed credential although Genesys never returns credential values
//! (docs/security.md, "Credential fingerprints"). The fingerprint is an HMAC-SHA-256, keyed with a
//! key only the pipeline has (`NODECTL_FINGERPRINT_KEY`), of the credential's type and values and
//! its integration's name; it is kept in the credential's own name, so that a secret and its
//! fingerprint change in the same write. Without the key, a reader of the org cannot test a guess
//! of the secret; the key's own id (8 hex digits of an HMAC of a fixed text) says when the key
//! changed, so that a rotated key rewrites each credential once instead of comparing apples and
//! pears. Pure: no I/O.

use std::collections::BTreeMap;
use std::fmt;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// The shortest key accepted, in bytes: 128 bits.
pub const MIN_KEY_BYTES: usize = 16;
/// The scheme's tag in fingerprints and credential names; a new scheme gets a new tag.
const SCHEME: &str = "fp1";
/// What a credential name nodectl writes starts with.
const CREDENTIAL_NAME_PREFIX: &str = "nodectl:";

/// The pipeline's fingerprint key.
#[derive(Clone)]
pub struct FingerprintKey {
    key: Vec<u8>,
}

impl fmt::Debug for FingerprintKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FingerprintKey({})", self.id())
    }
}

/// The key is too short to be a key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the fingerprint key has {0} bytes; it needs at least {MIN_KEY_BYTES} (e.g. `openssl rand -hex 32`)"
)]
pub struct KeyTooShort(pub usize);

impl FingerprintKey {
    pub fn new(key: &[u8]) -> Result<FingerprintKey, KeyTooShort> {
        if key.len() < MIN_KEY_BYTES {
            return Err(KeyTooShort(key.len()));
        }
        Ok(FingerprintKey { key: key.to_vec() })
    }

    fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        // A key of any length is accepted by HMAC; the error case cannot happen, and an empty MAC
        // would only make every fingerprint differ (one rewrite), never leak anything.
        let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.key) else {
            return [0; 32];
        };
        for part in parts {
            // Length-prefixed, so that no two different inputs hash the same bytes.
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        mac.finalize().into_bytes().into()
    }

    /// The key's public id: 8 hex digits, enough to tell keys apart, nothing about the key.
    pub fn id(&self) -> String {
        crate::canonical::hex(&self.mac(&[b"nodectl fingerprint key id"]))[..8].to_string()
    }

    /// The fingerprint of one credential: its integration's name, its type and every field (names
    /// and values, in name order).
    pub fn fingerprint(
        &self,
        integration: &str,
        credential_type: &str,
        fields: &BTreeMap<String, String>,
    ) -> Fingerprint {
        let mut parts: Vec<&[u8]> = vec![
            b"nodectl credential fingerprint v1",
            integration.as_bytes(),
            credential_type.as_bytes(),
        ];
        for (name, value) in fields {
            parts.push(name.as_bytes());
            parts.push(value.as_bytes());
        }
        let mac = self.mac(&parts);
        Fingerprint {
            key_id: self.id(),
            // 128 bits of the MAC: collisions stay out of reach, names stay short.
            mac: crate::canonical::hex(&mac[..16]),
        }
    }
}

/// A credential's fingerprint: `fp1:<key id>:<mac>`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Fingerprint {
    pub key_id: String,
    pub mac: String,
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{SCHEME}:{}:{}", self.key_id, self.mac)
    }
}

/// The name nodectl gives the credential of integration `integration_id`:
/// `nodectl:<integration id>:fp1:<key id>:<mac>`. The integration's id makes an unbound
/// credential findable again after an interrupted apply (no duplicate is ever created).
pub fn credential_name(integration_id: &str, fingerprint: &Fingerprint) -> String {
    format!("{CREDENTIAL_NAME_PREFIX}{integration_id}:{fingerprint}")
}

/// The integration id and fingerprint a credential name nodectl wrote carries; `None` for any
/// other name (a credential made by hand).
pub fn parse_credential_name(name: &str) -> Option<(&str, Fingerprint)> {
    let rest = name.strip_prefix(CREDENTIAL_NAME_PREFIX)?;
    let (integration_id, fingerprint) = rest.split_once(':')?;
    let mut parts = fingerprint.split(':');
    let (Some(SCHEME), Some(key_id), Some(mac), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    let hex = |text: &str, length: usize| {
        text.len() == length && text.chars().all(|c| c.is_ascii_hexdigit())
    };
    (!integration_id.is_empty() && hex(key_id, 8) && hex(mac, 32)).then(|| {
        (
            integration_id,
            Fingerprint {
                key_id: key_id.to_string(),
                mac: mac.to_string(),
            },
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_fingerprint_changes_with_any_value_the_type_the_integration_or_the_key() {
        let key = FingerprintKey::new(b"0123456789abcdef0123456789abcdef")
            .unwrap_or_else(|e| panic!("{e}"));
        let other_key = FingerprintKey::new(b"fedcba9876543210fedcba9876543210")
            .unwrap_or_else(|e| panic!("{e}"));
        let base = key.fingerprint(
            "CRM",
            "basicAuth",
            &fields(&[("userName", "u"), ("password", "p")]),
        );
        assert_eq!(
            base,
            key.fingerprint(
                "CRM",
                "basicAuth",
                &fields(&[("password", "p"), ("userName", "u")])
            )
        );
        for changed in [
            key.fingerprint(
                "CRM",
                "basicAuth",
                &fields(&[("userName", "u"), ("password", "q")]),
            ),
            key.fingerprint(
                "CRM",
                "userDefined",
                &fields(&[("userName", "u"), ("password", "p")]),
            ),
            key.fingerprint(
                "ERP",
                "basicAuth",
                &fields(&[("userName", "u"), ("password", "p")]),
            ),
            // Length prefixes: moving a byte from a name to a value is another input.
            key.fingerprint(
                "CRM",
                "basicAuth",
                &fields(&[("userNam", "eu"), ("password", "p")]),
            ),
        ] {
            assert_ne!(base.mac, changed.mac);
        }
        let rekeyed = other_key.fingerprint(
            "CRM",
            "basicAuth",
            &fields(&[("userName", "u"), ("password", "p")]),
        );
        assert_ne!(base.key_id, rekeyed.key_id);
        assert_ne!(base.mac, rekeyed.mac);
    }

    #[test]
    fn credential_names_round_trip_and_other_names_are_not_nodectls() {
        let key = FingerprintKey::new(&[7; 32]).unwrap_or_else(|e| panic!("{e}"));
        let fingerprint = key.fingerprint("CRM", "basicAuth", &fields(&[("password", "p")]));
        let name = credential_name("6f1c-42", &fingerprint);
        assert_eq!(parse_credential_name(&name), Some(("6f1c-42", fingerprint)));
        for other in [
            "CRM credential",
            "nodectl:",
            "nodectl:id:fp1:zz:00",
            "nodectl:id:fp2:01234567:0123456789abcdef0123456789abcdef",
        ] {
            assert_eq!(parse_credential_name(other), None, "{other}");
        }
        assert!(FingerprintKey::new(b"short").is_err());
    }
}
