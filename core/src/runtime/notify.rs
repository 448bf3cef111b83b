//! Where `notify(target, text)` from the rules goes: `[notify]` in the
//! config names the channel plugin that sends notifications (email by
//! default) and the address of each agent or team a rule may name.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::domain::Identity;

/// `[notify]` in the config.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NotifyConfig {
    /// The channel plugin notifications are delivered through.
    pub channel: String,
    /// The address of each target a rule names (`"agent:ida" =
    /// "ida@acme.example"`). `email:ADDRESS` targets need no entry.
    pub targets: BTreeMap<String, String>,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        Self { channel: "email".into(), targets: BTreeMap::new() }
    }
}

impl NotifyConfig {
    /// The email identity `target` is delivered to.
    ///
    /// # Errors
    /// A message for the operator when the target has no valid address.
    pub fn address(&self, target: &str) -> Result<Identity, String> {
        let target = target.trim();
        let address = match target.strip_prefix("email:") {
            Some(address) => address,
            None => {
                let mapped = self.targets.get(target).ok_or_else(|| {
                    format!("no address for notify target `{target}`: add it to [notify] targets in the config")
                })?;
                let mapped = mapped.trim();
                mapped.strip_prefix("email:").unwrap_or(mapped)
            }
        };
        Identity::email(address).map_err(|e| format!("notify target `{target}` has no valid email address: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_resolve_to_addresses() {
        let config = NotifyConfig {
            targets: [
                ("agent:ida", "ida@acme.example"),
                ("team:billing", "email:billing@acme.example"),
                ("agent:x", "x"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
            ..NotifyConfig::default()
        };
        assert_eq!(config.address("email:lead@acme.example").unwrap().value, "lead@acme.example");
        assert_eq!(config.address("agent:ida").unwrap().value, "ida@acme.example");
        assert_eq!(config.address(" team:billing ").unwrap().value, "billing@acme.example");
        assert!(config.address("agent:nobody").unwrap_err().contains("[notify] targets"));
        assert!(config.address("agent:x").unwrap_err().contains("no valid email address"));
        assert!(config.address("email:").is_err());
        assert!(config.address("email:a b@c").is_err());
    }
}
