//! The operator's `[plugins.NAME]` table: the host's own keys (grants,
//! limits, the webhook secret) and, for every other key, plugin config.

use std::collections::BTreeMap;
use std::time::Duration;

use super::manifest::{Manifest, config_value};
use crate::duration::parse_duration;

/// Keys the host reads; every other key is plugin config.
const RESERVED: &[&str] =
    &["enabled", "secret", "allowed_hosts", "kv", "timeout", "io_timeout", "memory_mib", "max_inbound_bytes"];

/// Per-plugin settings after merging the manifest with the operator's table.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `enabled` (default true), and every required config key set.
    pub enabled: bool,
    /// Why it is not enabled.
    pub disabled_reason: Option<String>,
    /// `secret`: the HMAC key for inbound webhooks (channels).
    pub secret: Option<String>,
    /// Hosts the plugin may reach: those both the manifest and the operator name.
    pub allowed_hosts: Vec<String>,
    /// Hosts the manifest asked for that the operator did not grant.
    pub hosts_not_granted: Vec<String>,
    /// The key-value store, when both ask and grant.
    pub kv: bool,
    /// Deadline of a call that does no I/O (`parse-inbound`, `score`); default 100 ms.
    pub timeout: Duration,
    /// Deadline of a call that may wait on HTTP (`deliver`, `enrich`,
    /// `on-case-event`); default 10 s.
    pub io_timeout: Duration,
    /// Memory per instance; default 32 MiB.
    pub memory_bytes: usize,
    /// Largest inbound webhook body handed to the plugin; default 256 KiB.
    pub max_inbound_bytes: usize,
    /// What `config::get` answers.
    pub config: BTreeMap<String, String>,
}

/// Why the operator's table was refused.
#[derive(Debug, thiserror::Error)]
#[error("[plugins.{plugin}] {key}: {message}")]
pub struct SettingsError {
    /// The plugin.
    pub plugin: String,
    /// The key.
    pub key: String,
    /// What is wrong.
    pub message: String,
}

impl Settings {
    /// Merges `manifest` with the operator's `table` (empty when the config
    /// has no `[plugins.NAME]`).
    ///
    /// # Errors
    /// A reserved key with the wrong type or an unparseable value.
    pub fn merge(manifest: &Manifest, table: Option<&toml::Table>) -> Result<Self, SettingsError> {
        let empty = toml::Table::new();
        let table = table.unwrap_or(&empty);
        let error = |key: &str, message: &str| SettingsError {
            plugin: manifest.name.clone(),
            key: key.into(),
            message: message.into(),
        };
        let boolean = |key: &str, default: bool| match table.get(key) {
            None => Ok(default),
            Some(toml::Value::Boolean(b)) => Ok(*b),
            Some(_) => Err(error(key, "must be true or false")),
        };
        let duration = |key: &str, default: Duration| match table.get(key) {
            None => Ok(default),
            Some(toml::Value::String(s)) => parse_deadline(s).map_err(|e| error(key, &e)),
            Some(_) => Err(error(key, "must be a duration such as \"100ms\" or \"10s\"")),
        };
        let granted: Vec<String> = match table.get("allowed_hosts") {
            None => Vec::new(),
            Some(toml::Value::Array(hosts)) => hosts
                .iter()
                .map(|h| {
                    h.as_str().map(|s| s.to_ascii_lowercase()).ok_or_else(|| error("allowed_hosts", "must be strings"))
                })
                .collect::<Result<_, _>>()?,
            Some(_) => Err(error("allowed_hosts", "must be a list of hosts"))?,
        };
        let (allowed_hosts, hosts_not_granted) = manifest
            .capabilities
            .allowed_hosts
            .iter()
            .map(|h| h.to_ascii_lowercase())
            .partition(|h| granted.contains(h));
        let secret = match table.get("secret") {
            None => None,
            Some(toml::Value::String(s)) if !s.is_empty() => Some(s.clone()),
            Some(_) => Err(error("secret", "must be a non-empty string"))?,
        };
        let memory_mib = match table.get("memory_mib") {
            None => 32,
            Some(toml::Value::Integer(n)) if (1..=4096).contains(n) => *n as usize,
            Some(_) => Err(error("memory_mib", "must be a whole number of MiB from 1 to 4096"))?,
        };
        let max_inbound_bytes = match table.get("max_inbound_bytes") {
            None => 256 * 1024,
            Some(toml::Value::Integer(n)) if (1..=16 << 20).contains(n) => *n as usize,
            Some(_) => Err(error("max_inbound_bytes", "must be a number of bytes from 1 to 16 MiB"))?,
        };
        let mut config = manifest.default_config();
        for (key, value) in table {
            if !RESERVED.contains(&key.as_str()) {
                config.insert(key.clone(), config_value(value));
            }
        }
        let enabled = boolean("enabled", true)?;
        let missing: Vec<&str> = manifest
            .requires_config
            .iter()
            .filter(|k| config.get(*k).is_none_or(|v| v.trim().is_empty()))
            .map(String::as_str)
            .collect();
        let disabled_reason = if !enabled {
            Some("enabled = false in the config".to_owned())
        } else if !missing.is_empty() {
            Some(format!("needs config: set {} in [plugins.{}]", missing.join(", "), manifest.name))
        } else {
            None
        };
        Ok(Settings {
            enabled: disabled_reason.is_none(),
            disabled_reason,
            secret,
            allowed_hosts,
            hosts_not_granted,
            kv: manifest.capabilities.kv && boolean("kv", false)?,
            timeout: duration("timeout", Duration::from_millis(100))?,
            io_timeout: duration("io_timeout", Duration::from_secs(10))?,
            memory_bytes: memory_mib << 20,
            max_inbound_bytes,
            config,
        })
    }

    /// Whether a request to `authority` (`host` or `host:port`) may go out:
    /// a granted `host` allows every port, a granted `host:port` that port.
    pub fn allows(&self, host: &str, port: Option<u16>) -> bool {
        let host = host.to_ascii_lowercase();
        self.allowed_hosts.iter().any(|granted| match granted.rsplit_once(':') {
            Some((h, p)) if p.parse::<u16>().is_ok() => h == host && port.map(|x| x.to_string()).as_deref() == Some(p),
            _ => *granted == host,
        })
    }
}

/// `250ms`, or any duration [`parse_duration`] takes (`2s`, `1m`).
fn parse_deadline(text: &str) -> Result<Duration, String> {
    let parsed = match text.trim().strip_suffix("ms") {
        Some(ms) => ms.parse::<u64>().map(Duration::from_millis).map_err(|_| format!("invalid duration {text:?}")),
        None => parse_duration(text).map(Duration::from_secs).map_err(|e| e.to_string()),
    }?;
    if parsed.is_zero() {
        return Err("must be more than zero".into());
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> Manifest {
        Manifest::parse(
            r#"
            name = "crm"
            version = "1.0.0"
            kind = "crm"
            api = "^0.1"
            [capabilities]
            allowed_hosts = ["crm.example", "127.0.0.1:9000"]
            kv = true
            [config]
            api_url = "https://crm.example/api"
            "#,
        )
        .unwrap()
    }

    fn table(text: &str) -> toml::Table {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn capabilities_need_both_the_manifest_and_the_operator() {
        let settings = Settings::merge(&manifest(), None).unwrap();
        assert!(settings.allowed_hosts.is_empty());
        assert!(!settings.kv);
        assert_eq!(settings.hosts_not_granted, ["crm.example", "127.0.0.1:9000"]);

        let settings = Settings::merge(
            &manifest(),
            Some(&table(
                r#"allowed_hosts = ["crm.example", "evil.example"]
kv = true"#,
            )),
        )
        .unwrap();
        assert_eq!(settings.allowed_hosts, ["crm.example"]);
        assert!(settings.kv);
        assert!(settings.allows("CRM.example", Some(443)));
        assert!(!settings.allows("evil.example", None));
        assert!(!settings.allows("127.0.0.1", Some(9000)));
    }

    #[test]
    fn a_granted_port_allows_only_that_port() {
        let settings = Settings::merge(&manifest(), Some(&table(r#"allowed_hosts = ["127.0.0.1:9000"]"#))).unwrap();
        assert!(settings.allows("127.0.0.1", Some(9000)));
        assert!(!settings.allows("127.0.0.1", Some(9001)));
        assert!(!settings.allows("127.0.0.1", None));
    }

    #[test]
    fn operator_keys_overlay_the_manifest_config_and_reserved_keys_stay_out() {
        let settings = Settings::merge(
            &manifest(),
            Some(&table(
                r#"api_url = "http://127.0.0.1:9000"
api_key = "k"
secret = "s"
timeout = "250ms"
memory_mib = 8"#,
            )),
        )
        .unwrap();
        assert_eq!(settings.config["api_url"], "http://127.0.0.1:9000");
        assert_eq!(settings.config["api_key"], "k");
        assert!(!settings.config.contains_key("secret"));
        assert_eq!(settings.secret.as_deref(), Some("s"));
        assert_eq!(settings.timeout, Duration::from_millis(250));
        assert_eq!(settings.memory_bytes, 8 << 20);
    }

    #[test]
    fn bad_reserved_values_name_the_key() {
        let error = Settings::merge(&manifest(), Some(&table("kv = \"yes\""))).unwrap_err();
        assert_eq!(error.to_string(), "[plugins.crm] kv: must be true or false");
        let error = Settings::merge(&manifest(), Some(&table("timeout = \"soon\""))).unwrap_err();
        assert!(error.to_string().starts_with("[plugins.crm] timeout:"), "{error}");
    }
}
