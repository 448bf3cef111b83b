//! Who caused an event, written `kind:detail` (`agent:ann`, `customer:42`, `system`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::CustomerId;

/// The author of an event.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Actor {
    /// A support agent (or admin) acting through the API, by token name.
    Agent(String),
    /// The customer themselves.
    Customer(CustomerId),
    /// A rule script: file name and short content hash.
    Script { file: String, hash: String },
    /// A plugin: name and version.
    Plugin { name: String, version: String },
    /// Frontdesk itself (auto-close, reopen, SLA scheduler).
    System,
    /// An integration token, by name.
    Token(String),
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::Agent(name) => write!(f, "agent:{name}"),
            Actor::Customer(id) => write!(f, "customer:{id}"),
            Actor::Script { file, hash } => write!(f, "script:{file}@{hash}"),
            Actor::Plugin { name, version } => write!(f, "plugin:{name}@{version}"),
            Actor::System => f.write_str("system"),
            Actor::Token(name) => write!(f, "token:{name}"),
        }
    }
}

/// An actor string that does not parse.
#[derive(Debug, thiserror::Error)]
#[error("invalid actor {0:?}")]
pub struct InvalidActor(String);

impl FromStr for Actor {
    type Err = InvalidActor;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || InvalidActor(s.to_owned());
        if s == "system" {
            return Ok(Actor::System);
        }
        let (kind, rest) = s.split_once(':').ok_or_else(bad)?;
        if rest.is_empty() {
            return Err(bad());
        }
        match kind {
            "agent" => Ok(Actor::Agent(rest.to_owned())),
            "token" => Ok(Actor::Token(rest.to_owned())),
            "customer" => rest.parse().map(Actor::Customer).map_err(|_| bad()),
            "script" | "plugin" => {
                let (a, b) = rest.rsplit_once('@').ok_or_else(bad)?;
                Ok(if kind == "script" {
                    Actor::Script { file: a.to_owned(), hash: b.to_owned() }
                } else {
                    Actor::Plugin { name: a.to_owned(), version: b.to_owned() }
                })
            }
            _ => Err(bad()),
        }
    }
}

impl Serialize for Actor {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Actor {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actors_round_trip_through_their_text_form() {
        for text in ["agent:ann", "customer:42", "script:triage.rhai@ab12", "plugin:email@0.1.0", "system", "token:crm"]
        {
            let actor: Actor = text.parse().unwrap();
            assert_eq!(actor.to_string(), text);
        }
        assert!("agent:".parse::<Actor>().is_err());
        assert!("robot:x".parse::<Actor>().is_err());
    }
}
