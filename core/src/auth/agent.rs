//! People who sign in: [`Agent`] (with its password hash and teams) and
//! their console [`Session`]s, and the checks of their names and emails.
//! Storage and the decisions that write them live in `store` and `write`.

use std::fmt;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::Role;
use crate::domain::Identity;

/// Longest agent name, in characters.
pub const MAX_AGENT_NAME: usize = 64;

/// A person who works cases: an agent, a lead or an admin. The name is the
/// one assignments, teams and actors (`agent:<name>`) use. Serialises with
/// its password hash (that is how it is stored): answer callers with an
/// [`AgentProfile`], never with this.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Agent {
    /// Unique, 1-64 characters of `a-z0-9._-`.
    pub name: String,
    /// Unique, lower case.
    pub email: String,
    /// `agent`, `lead` or `admin` (never `integration`).
    pub role: Role,
    /// The teams the agent belongs to.
    pub teams: Vec<String>,
    /// argon2id PHC string of the password (see [`super::password`]).
    pub password_hash: String,
    /// Whether the agent may sign in and be assigned cases.
    pub active: bool,
    /// Creation time.
    pub created_at: Timestamp,
}

impl fmt::Debug for Agent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The hash is a secret's stand-in: keep it out of logs.
        f.debug_struct("Agent")
            .field("name", &self.name)
            .field("email", &self.email)
            .field("role", &self.role)
            .field("teams", &self.teams)
            .field("active", &self.active)
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

impl Agent {
    /// What callers may see of the agent: everything but the password hash.
    pub fn profile(&self) -> AgentProfile {
        AgentProfile {
            name: self.name.clone(),
            email: self.email.clone(),
            role: self.role,
            teams: self.teams.clone(),
            active: self.active,
            created_at: self.created_at,
        }
    }

    /// Whether the agent belongs to `team`.
    pub fn in_team(&self, team: &str) -> bool {
        self.teams.iter().any(|t| t == team)
    }
}

/// An [`Agent`] as the API and the console show it: no password hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentProfile {
    /// Unique name.
    pub name: String,
    /// Unique, lower-case email.
    pub email: String,
    /// `agent`, `lead` or `admin`.
    pub role: Role,
    /// Team memberships.
    pub teams: Vec<String>,
    /// Whether the agent may sign in and be assigned cases.
    pub active: bool,
    /// Creation time.
    pub created_at: Timestamp,
}

impl From<&Agent> for AgentProfile {
    fn from(agent: &Agent) -> Self {
        agent.profile()
    }
}

/// A console session, kept server-side so that a restart does not sign
/// people out and several nodes can share them. Stored under the SHA-256 of
/// the cookie's secret ([`super::hash_secret`]), never the secret itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// Hex SHA-256 of the cookie secret.
    pub hash: String,
    /// The agent's name.
    pub agent: String,
    /// When it started.
    pub created_at: Timestamp,
    /// The last request seen with it.
    pub last_seen_at: Timestamp,
    /// When it ends, however active it is.
    pub expires_at: Timestamp,
}

impl Session {
    /// Whether the session has ended by time at `now`.
    pub fn is_expired(&self, now: Timestamp) -> bool {
        now >= self.expires_at
    }
}

/// An agent name or email that is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidAgent {
    /// The name is empty, too long or has other characters than `a-z0-9._-`.
    #[error("agent name {0:?} must be 1-{max} characters of a-z, 0-9, '.', '_' and '-'", max = MAX_AGENT_NAME)]
    Name(String),
    /// Not an email address.
    #[error("{0:?} is not an email address")]
    Email(String),
    /// A role people cannot have.
    #[error("a person cannot have the role {0} (expected agent, lead or admin)")]
    Role(Role),
    /// A team name that is empty, too long, or has spaces or commas.
    #[error("team {0:?} must be 1-64 characters without spaces or commas")]
    Team(String),
}

/// Checks an agent name: 1-64 characters of `a-z0-9._-`.
///
/// # Errors
/// [`InvalidAgent::Name`].
pub fn check_agent_name(name: &str) -> Result<(), InvalidAgent> {
    let ok = !name.is_empty()
        && name.len() <= MAX_AGENT_NAME
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-'));
    if ok { Ok(()) } else { Err(InvalidAgent::Name(name.to_owned())) }
}

/// An email as agents are stored with it: trimmed and lower case.
///
/// # Errors
/// [`InvalidAgent::Email`] for anything that is not `local@domain`.
pub fn normalize_email(email: &str) -> Result<String, InvalidAgent> {
    Identity::email(email).map(|identity| identity.value).map_err(|_| InvalidAgent::Email(email.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_lower_case_ascii_with_dots_dashes_and_underscores() {
        for good in ["sam", "bea.o", "ida-2", "x_y", &"a".repeat(64)] {
            assert!(check_agent_name(good).is_ok(), "{good}");
        }
        for bad in ["", "Sam", "sam smith", "sam,bo", "sâm", &"a".repeat(65), "a/b"] {
            assert_eq!(check_agent_name(bad), Err(InvalidAgent::Name(bad.to_owned())), "{bad}");
        }
    }

    #[test]
    fn emails_are_lower_cased_and_checked() {
        assert_eq!(normalize_email("  Sam@Example.COM ").unwrap(), "sam@example.com");
        assert!(normalize_email("nope").is_err());
        assert!(normalize_email("a@b@c").is_err());
    }

    #[test]
    fn debug_and_profiles_never_show_the_hash() {
        let agent = Agent {
            name: "sam".into(),
            email: "sam@example.com".into(),
            role: Role::Agent,
            teams: vec!["support".into()],
            password_hash: "$argon2id$secret".into(),
            active: true,
            created_at: Timestamp::UNIX_EPOCH,
        };
        assert!(!format!("{agent:?}").contains("argon2"));
        let profile = serde_json::to_value(agent.profile()).unwrap();
        assert!(profile.get("password_hash").is_none());
        assert_eq!(profile["teams"], serde_json::json!(["support"]));
        assert!(agent.in_team("support") && !agent.in_team("billing"));
    }
}
