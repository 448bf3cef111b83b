//! API tokens, roles and permissions; people ([`Agent`]), their passwords
//! ([`password`]) and their console sessions ([`Session`]). Tokens are
//! 256-bit random strings shown once; only their SHA-256 is stored, which is
//! enough for a high-entropy secret and keeps every request's check to one
//! hash and one lookup. The same holds for session cookies. Passwords, which
//! people choose, are stored only as argon2id hashes.

mod agent;
pub mod password;

pub use agent::{Agent, AgentProfile, InvalidAgent, Session, check_agent_name, normalize_email};

use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::domain::Actor;

/// What a token or a person may do. People are `agent`, `lead` or `admin`;
/// tokens are `admin`, `agent`, `integration` (or `lead`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything, including tokens, agents and administration.
    Admin,
    /// Support work: cases, replies, notes, customers.
    Agent,
    /// An agent who also leads a team: reassigns cases, manages macros and views.
    Lead,
    /// Machines: create cases and customer messages, customers, signals, CSAT.
    Integration,
}

impl Role {
    /// The role's name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Agent => "agent",
            Role::Lead => "lead",
            Role::Integration => "integration",
        }
    }

    /// Whether a person (an [`Agent`]) may have this role: every role but
    /// `integration`, which is for machines.
    pub const fn is_person(self) -> bool {
        match self {
            Role::Admin | Role::Agent | Role::Lead => true,
            Role::Integration => false,
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
                P::ReadAgents => true,
                P::ManageTokens | P::Administer | P::ManageAgents => false,
                P::ManageMacros | P::ManageViews | P::Reassign => false,
            },
            Role::Lead => match permission {
                P::ReadCases | P::CreateCases | P::UpdateCases | P::Reply | P::AddNote | P::AddCustomerMessage => true,
                P::RecordCsat | P::ReadCustomers | P::WriteCustomers | P::SendSignals | P::ReadMetrics => true,
                P::ReadAgents | P::ManageMacros | P::ManageViews | P::Reassign => true,
                P::ManageTokens | P::Administer | P::ManageAgents => false,
            },
            Role::Integration => match permission {
                P::ReadCases | P::CreateCases | P::AddCustomerMessage | P::RecordCsat => true,
                P::ReadCustomers | P::WriteCustomers | P::SendSignals => true,
                P::UpdateCases | P::Reply | P::AddNote | P::ReadMetrics | P::ManageTokens | P::Administer => false,
                P::ReadAgents | P::ManageAgents | P::ManageMacros | P::ManageViews | P::Reassign => false,
            },
        }
    }

    /// The stored record of a new token named `name` with this role.
    pub fn token(self, name: &str, secret: &str, created_at: Timestamp) -> ApiToken {
        ApiToken {
            name: name.to_owned(),
            role: self,
            hash: hash_secret(secret),
            created_at,
            expires_at: None,
            last_used_at: None,
            revoked_at: None,
        }
    }

    /// The actor recorded on events this role's token causes.
    pub fn actor(self, token_name: &str) -> Actor {
        match self {
            Role::Admin | Role::Agent | Role::Lead => Actor::Agent(token_name.to_owned()),
            Role::Integration => Actor::Token(token_name.to_owned()),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A role name that is not one of `admin`, `agent`, `lead`, `integration`.
#[derive(Debug, thiserror::Error)]
#[error("unknown role {0:?} (expected admin, agent, lead or integration)")]
pub struct UnknownRole(String);

impl FromStr for Role {
    type Err = UnknownRole;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "admin" => Ok(Role::Admin),
            "agent" => Ok(Role::Agent),
            "lead" => Ok(Role::Lead),
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
    /// List agents and teams (for assignment pickers): people's roles.
    ReadAgents,
    /// Create agents, change their role, teams, email, password, or deactivate them.
    ManageAgents,
    /// Create and change shared reply macros.
    ManageMacros,
    /// Create and change shared case views.
    ManageViews,
    /// Change the assignee of a case assigned to someone else, or assign an
    /// unassigned case to someone else. Without it a person may only take an
    /// unassigned case or give up their own.
    Reassign,
}

/// Whether `me`, without [`Permission::Reassign`], may change a case's
/// assignee from `current` to `next`: take an unassigned case, give up my
/// own, or leave the assignee as it is.
pub fn may_assign_without_reassign(me: &str, current: Option<&str>, next: Option<&str>) -> bool {
    current == next || matches!((current, next), (None, Some(n)) if n == me) || (current == Some(me) && next.is_none())
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
    /// When it stops working, if it was given an end.
    #[serde(default)]
    pub expires_at: Option<Timestamp>,
    /// When it last authenticated a request, to the minute (it is written
    /// at most once a minute, not on every request).
    #[serde(default)]
    pub last_used_at: Option<Timestamp>,
    /// When an admin revoked it. A revoked token is kept, so its name stays
    /// taken and the actors on its events stay unambiguous.
    #[serde(default)]
    pub revoked_at: Option<Timestamp>,
}

impl ApiToken {
    /// Whether it may authenticate a request at `now`.
    pub fn usable_at(&self, now: Timestamp) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|end| now < end)
    }
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
    fn without_reassign_only_taking_unassigned_cases_and_giving_up_ones_own() {
        assert!(may_assign_without_reassign("sam", None, Some("sam")));
        assert!(may_assign_without_reassign("sam", Some("sam"), None));
        assert!(may_assign_without_reassign("sam", Some("bea"), Some("bea")), "unchanged");
        assert!(may_assign_without_reassign("sam", None, None));
        assert!(!may_assign_without_reassign("sam", None, Some("bea")));
        assert!(!may_assign_without_reassign("sam", Some("bea"), Some("sam")));
        assert!(!may_assign_without_reassign("sam", Some("bea"), None));
        assert!(!may_assign_without_reassign("sam", Some("sam"), Some("bea")));
    }

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

    #[test]
    fn leads_are_agents_who_also_reassign_and_manage_macros_and_views() {
        use Permission as P;
        let all = [
            P::ReadCases,
            P::CreateCases,
            P::UpdateCases,
            P::Reply,
            P::AddNote,
            P::AddCustomerMessage,
            P::RecordCsat,
            P::ReadCustomers,
            P::WriteCustomers,
            P::SendSignals,
            P::ReadMetrics,
            P::ManageTokens,
            P::Administer,
            P::ReadAgents,
            P::ManageAgents,
            P::ManageMacros,
            P::ManageViews,
            P::Reassign,
        ];
        let lead_only = [P::ManageMacros, P::ManageViews, P::Reassign];
        for p in all {
            let expected = Role::Agent.allows(p) || lead_only.contains(&p);
            assert_eq!(Role::Lead.allows(p), expected, "{p:?}");
            assert!(Role::Admin.allows(p), "{p:?}");
        }
        assert!(!Role::Lead.allows(P::ManageAgents));
        assert!(!Role::Agent.allows(P::Reassign));
        assert!(!Role::Integration.allows(P::ReadAgents));
        for role in [Role::Admin, Role::Agent, Role::Lead, Role::Integration] {
            assert_eq!(role.as_str().parse::<Role>().unwrap(), role);
            assert_eq!(serde_json::to_value(role).unwrap(), role.as_str());
        }
        assert!(Role::Lead.is_person() && !Role::Integration.is_person());
    }
}
