//! API tokens and roles. Tokens are 256-bit random strings shown once; only
//! their SHA-256 is stored, which is enough for a high-entropy secret and keeps
//! every request's check to one hash and one lookup.

use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::domain::Actor;

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything, including tokens and administration.
    Admin,
    /// Support work: cases, replies, notes, customers.
    Agent,
    /// Machines: create cases and customer messages, customers, signals, CSAT.
    Integration,
}

impl Role {
    /// The role's name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Agent => "agent",
            Role::Integration => "integration",
        }
    }

    /// Whether this role may do `permission`.
    pub fn allows(self, permission: Permission) -> bool {
        use Permission as P;
        match self {
            Role::Admin => true,
            Role::Agent => match permission {
                P::ReadCases | P::CreateCases | P::UpdateCases | P::Reply | P::AddNote | P::AddCustomerMessage => true,
                P::RecordCsat | P::ReadCustomers | P::WriteCustomers | P::SendSignals | P::ReadMetrics => true,
                P::ManageTokens | P::Administer => false,
            },
            Role::Integration => match permission {
                P::ReadCases | P::CreateCases | P::AddCustomerMessage | P::RecordCsat => true,
                P::ReadCustomers | P::WriteCustomers | P::SendSignals => true,
                P::UpdateCases | P::Reply | P::AddNote | P::ReadMetrics | P::ManageTokens | P::Administer => false,
            },
        }
    }

    /// The stored record of a new token named `name` with this role.
    pub fn token(self, name: &str, secret: &str, created_at: Timestamp) -> ApiToken {
        ApiToken { name: name.to_owned(), role: self, hash: hash_secret(secret), created_at }
    }

    /// The actor recorded on events this role's token causes.
    pub fn actor(self, token_name: &str) -> Actor {
        match self {
            Role::Admin | Role::Agent => Actor::Agent(token_name.to_owned()),
            Role::Integration => Actor::Token(token_name.to_owned()),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A role name that is not one of `admin`, `agent`, `integration`.
#[derive(Debug, thiserror::Error)]
#[error("unknown role {0:?} (expected admin, agent or integration)")]
pub struct UnknownRole(String);

impl FromStr for Role {
    type Err = UnknownRole;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "admin" => Ok(Role::Admin),
            "agent" => Ok(Role::Agent),
            "integration" => Ok(Role::Integration),
            other => Err(UnknownRole(other.to_owned())),
        }
    }
}

/// An action guarded by a role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Read cases and their timelines.
    ReadCases,
    /// Create cases.
    CreateCases,
    /// Change status, priority, team, assignee, tags.
    UpdateCases,
    /// Send a public reply.
    Reply,
    /// Add an internal note.
    AddNote,
    /// Post a message on the customer's behalf.
    AddCustomerMessage,
    /// Record a satisfaction rating.
    RecordCsat,
    /// Read customers and their timelines.
    ReadCustomers,
    /// Create or match customers.
    WriteCustomers,
    /// Post usage signals.
    SendSignals,
    /// Read service metrics.
    ReadMetrics,
    /// Create tokens.
    ManageTokens,
    /// Admin endpoints (scripts, plugins, outbox).
    Administer,
}

/// A stored token: its hash, never the token itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiToken {
    /// Unique name, used in actors (`agent:<name>`).
    pub name: String,
    /// What it may do.
    pub role: Role,
    /// Hex SHA-256 of the secret.
    pub hash: String,
    /// Creation time.
    pub created_at: Timestamp,
}

/// A fresh random token secret: `fd_` and 64 hex digits (256 bits).
///
/// # Panics
/// When the operating system has no randomness to give, which leaves nothing
/// safe to do.
pub fn generate_secret() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system's random source failed");
    format!("fd_{}", hex(&bytes))
}

/// The stored form of a secret.
pub fn hash_secret(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_random_and_hashes_stable() {
        let a = generate_secret();
        assert_eq!(a.len(), 67);
        assert_ne!(a, generate_secret());
        assert_eq!(hash_secret(&a), hash_secret(&a));
        assert_ne!(hash_secret(&a), a);
    }

    #[test]
    fn integration_tokens_cannot_reply_or_manage_tokens() {
        assert!(!Role::Integration.allows(Permission::Reply));
        assert!(!Role::Agent.allows(Permission::ManageTokens));
        assert!(Role::Admin.allows(Permission::ManageTokens));
        assert!(Role::Integration.allows(Permission::CreateCases));
    }
}
