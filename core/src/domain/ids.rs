//! Newtype ids. They travel in JSON as decimal strings (clients must not do
//! arithmetic on them), and are accepted as strings or numbers.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(u64);

        impl $name {
            /// Wraps a raw id.
            pub const fn new(raw: u64) -> Self {
                Self(raw)
            }

            /// The raw id, for storage keys.
            pub const fn get(self) -> u64 {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = std::num::ParseIntError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.parse().map(Self)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                d.deserialize_any(IdVisitor).map(Self)
            }
        }
    };
}

struct IdVisitor;

impl serde::de::Visitor<'_> for IdVisitor {
    type Value = u64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an id (a string of digits)")
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<u64, E> {
        Ok(v)
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<u64, E> {
        v.parse().map_err(|_| E::custom(format!("invalid id {v:?}")))
    }
}

id_type!(
    /// Identifies a case; allocated in commit order.
    CaseId
);
id_type!(
    /// Identifies a customer.
    CustomerId
);
id_type!(
    /// Identifies an event; event ids grow in commit order, so they order timelines.
    EventId
);
id_type!(
    /// Identifies a saved inbox view.
    ViewId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_strings_in_json_and_accept_numbers() {
        assert_eq!(serde_json::to_string(&CaseId::new(7)).unwrap(), "\"7\"");
        assert_eq!(serde_json::from_str::<CaseId>("\"7\"").unwrap(), CaseId::new(7));
        assert_eq!(serde_json::from_str::<CaseId>("7").unwrap(), CaseId::new(7));
        assert!(serde_json::from_str::<CaseId>("\"x\"").is_err());
        assert!(serde_json::from_str::<CaseId>("-1").is_err());
    }
}
