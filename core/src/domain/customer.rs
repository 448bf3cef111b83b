//! Customers and the identities (email, chat handle, phone, external ids) that
//! resolve to them, so one person is one customer across channels.

use std::collections::BTreeMap;
use std::fmt;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::CustomerId;

/// What kind of identity a value is.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentityKind {
    /// An email address (matched case-insensitively).
    Email,
    /// A chat or messaging handle.
    Chat,
    /// A phone number (matched on its digits).
    Phone,
    /// An id in an external system (a CRM, a channel), named by that system.
    External(String),
}

/// One way to recognise a customer. Values are normalised on construction so
/// that lookups are exact index reads.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Identity {
    /// The kind.
    pub kind: IdentityKind,
    /// The normalised value.
    pub value: String,
}

/// An identity value that cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid {kind} identity {value:?}: {why}")]
pub struct InvalidIdentity {
    kind: &'static str,
    value: String,
    why: &'static str,
}

const MAX_IDENTITY_LEN: usize = 320;

impl Identity {
    /// An email identity; lower-cased and trimmed.
    ///
    /// # Errors
    /// When the value is not a plausible address.
    pub fn email(raw: &str) -> Result<Self, InvalidIdentity> {
        let value = raw.trim().to_lowercase();
        let bad = |why| InvalidIdentity { kind: "email", value: raw.to_owned(), why };
        let (local, domain) = value.split_once('@').ok_or_else(|| bad("missing @"))?;
        if local.is_empty() || domain.is_empty() || domain.contains('@') {
            return Err(bad("expected local@domain"));
        }
        if value.len() > MAX_IDENTITY_LEN || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad("too long or contains spaces"));
        }
        Ok(Self { kind: IdentityKind::Email, value })
    }

    /// A chat handle; trimmed, case preserved (handles are case-sensitive on
    /// some networks).
    ///
    /// # Errors
    /// When the value is empty or too long.
    pub fn chat(raw: &str) -> Result<Self, InvalidIdentity> {
        Self::plain(IdentityKind::Chat, "chat", raw)
    }

    /// A phone number; kept as `+` and digits only.
    ///
    /// # Errors
    /// When fewer than 5 digits remain.
    pub fn phone(raw: &str) -> Result<Self, InvalidIdentity> {
        let trimmed = raw.trim();
        let digits: String = trimmed.chars().filter(char::is_ascii_digit).collect();
        let ok_chars = trimmed.chars().all(|c| c.is_ascii_digit() || " +-().".contains(c));
        if !ok_chars || digits.len() < 5 || digits.len() > 20 {
            return Err(InvalidIdentity { kind: "phone", value: raw.to_owned(), why: "expected a phone number" });
        }
        let value = if trimmed.starts_with('+') { format!("+{digits}") } else { digits };
        Ok(Self { kind: IdentityKind::Phone, value })
    }

    /// An id in an external system named `system` (for example `salesforce`).
    ///
    /// # Errors
    /// When the system name or the value is empty, too long, or contains `:`.
    pub fn external(system: &str, raw: &str) -> Result<Self, InvalidIdentity> {
        let system = system.trim().to_lowercase();
        if system.is_empty() || system.len() > 64 || system.contains(':') {
            return Err(InvalidIdentity { kind: "external", value: system, why: "bad system name" });
        }
        Self::plain(IdentityKind::External(system), "external", raw)
    }

    fn plain(kind: IdentityKind, name: &'static str, raw: &str) -> Result<Self, InvalidIdentity> {
        let value = raw.trim();
        if value.is_empty() || value.len() > MAX_IDENTITY_LEN || value.chars().any(char::is_control) {
            return Err(InvalidIdentity {
                kind: name,
                value: raw.to_owned(),
                why: "empty, too long or has control characters",
            });
        }
        Ok(Self { kind, value: value.to_owned() })
    }

    /// The index key: `email:ann@example.com`, `ext:crm:123`.
    pub fn key(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            IdentityKind::Email => write!(f, "email:{}", self.value),
            IdentityKind::Chat => write!(f, "chat:{}", self.value),
            IdentityKind::Phone => write!(f, "phone:{}", self.value),
            IdentityKind::External(system) => write!(f, "ext:{system}:{}", self.value),
        }
    }
}

/// A person or organisation that asks for support.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Customer {
    /// The customer id.
    pub id: CustomerId,
    /// Display name.
    pub name: Option<String>,
    /// Service tier (`enterprise`, `pro`, ...), used by SLA policies and rules.
    pub tier: Option<String>,
    /// Every identity that resolves to this customer.
    pub identities: Vec<Identity>,
    /// Attributes, typically synced from a CRM.
    pub attributes: BTreeMap<String, serde_json::Value>,
    /// Health from customer-success signals, once known.
    pub health: Option<serde_json::Value>,
    /// Creation time.
    #[serde(serialize_with = "crate::timestamp_text::serialize")]
    pub created_at: Timestamp,
    /// Last change.
    #[serde(serialize_with = "crate::timestamp_text::serialize")]
    pub updated_at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identities_normalise_so_lookups_match() {
        assert_eq!(Identity::email(" Ann@Example.COM ").unwrap().key(), "email:ann@example.com");
        assert_eq!(Identity::phone("+1 (555) 010-9999").unwrap().key(), "phone:+15550109999");
        assert_eq!(Identity::external("CRM", "003x").unwrap().key(), "ext:crm:003x");
        assert!(Identity::email("nobody").is_err());
        assert!(Identity::email("a@b@c").is_err());
        assert!(Identity::phone("call me").is_err());
        assert!(Identity::chat("  ").is_err());
    }
}
