//! `plugin.toml`: what a plugin says about itself. Parsed strictly, and its
//! `api` requirement checked against the contract versions this server
//! serves before anything is compiled.

use std::collections::BTreeMap;

use semver::{Version, VersionReq};
use serde::Deserialize;

/// The contract versions this server serves, newest first. A new major
/// version is added here with its own bindings; old ones stay.
pub const SERVED_API_VERSIONS: &[Version] = &[Version::new(0, 1, 2), Version::new(0, 1, 1), Version::new(0, 1, 0)];

/// The kinds of plugin, one WIT world each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A way customers reach support: parse inbound webhooks, deliver replies.
    Channel,
    /// A CRM connector: enrich customers, sync case events.
    Crm,
    /// A customer-health scorer.
    Health,
}

impl Kind {
    /// `channel`, `crm` or `health`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Channel => "channel",
            Kind::Crm => "crm",
            Kind::Health => "health",
        }
    }
}

/// A parsed, checked manifest.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Unique name: `[a-z0-9_-]`, 1 to 64 characters.
    pub name: String,
    /// The plugin's own version.
    pub version: Version,
    /// Which world it implements.
    pub kind: Kind,
    /// The contract versions it works with.
    pub api: VersionReq,
    /// One line for people.
    #[serde(default)]
    pub description: String,
    /// What it asks for.
    #[serde(default)]
    pub capabilities: Requested,
    /// Config keys without which the plugin cannot work (a CRM's `api_url`):
    /// while any is unset or empty, the plugin is loaded but disabled.
    #[serde(default)]
    pub requires_config: Vec<String>,
    /// Default config, overlaid by the operator's `[plugins.NAME]`.
    #[serde(default)]
    pub config: toml::Table,
}

/// Capabilities a manifest asks for; the operator grants them separately.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Requested {
    /// Hosts (`host` or `host:port`) it wants to reach over HTTP.
    #[serde(default)]
    pub allowed_hosts: Vec<String>,
    /// Whether it wants its key-value store.
    #[serde(default)]
    pub kv: bool,
}

/// Why a manifest was refused.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// Not valid TOML, or a field is missing, unknown or of the wrong type.
    #[error("plugin.toml: {0}")]
    Malformed(String),
    /// The name has characters that cannot name a plugin.
    #[error("plugin.toml: name `{0}` must be 1-64 characters of a-z, 0-9, `-` or `_`")]
    BadName(String),
    /// No contract version this server serves meets `api`.
    #[error("needs plugin API {wanted}, but this server serves {served}")]
    Incompatible {
        /// The manifest's requirement.
        wanted: VersionReq,
        /// What the server serves.
        served: String,
    },
}

impl Manifest {
    /// Parses and checks `text`.
    ///
    /// # Errors
    /// See [`ManifestError`].
    pub fn parse(text: &str) -> Result<Self, ManifestError> {
        let manifest: Manifest = toml::from_str(text).map_err(|e| ManifestError::Malformed(one_line(&e)))?;
        let name_ok = !manifest.name.is_empty()
            && manifest.name.len() <= 64
            && manifest.name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if !name_ok {
            return Err(ManifestError::BadName(manifest.name));
        }
        manifest.api_version()?;
        Ok(manifest)
    }

    /// The newest served contract version that meets the manifest's `api`.
    ///
    /// # Errors
    /// [`ManifestError::Incompatible`] when none does.
    pub fn api_version(&self) -> Result<&'static Version, ManifestError> {
        SERVED_API_VERSIONS.iter().find(|v| self.api.matches(v)).ok_or_else(|| ManifestError::Incompatible {
            wanted: self.api.clone(),
            served: SERVED_API_VERSIONS.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "),
        })
    }

    /// The manifest's default config as strings (see [`config_value`]).
    pub fn default_config(&self) -> BTreeMap<String, String> {
        self.config.iter().map(|(k, v)| (k.clone(), config_value(v))).collect()
    }
}

/// A config value as a plugin reads it: strings as they are, anything else
/// as JSON text.
pub fn config_value(value: &toml::Value) -> String {
    match value {
        toml::Value::String(s) => s.clone(),
        other => serde_json::to_string(other).unwrap_or_default(),
    }
}

fn one_line(error: &toml::de::Error) -> String {
    error.to_string().lines().filter(|l| !l.trim().is_empty()).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
        name = "email"
        version = "0.1.0"
        kind = "channel"
        api = "^0.1"
        [capabilities]
        allowed_hosts = ["127.0.0.1"]
        [config]
        api_url = "http://127.0.0.1:8025/send"
        retries = 3
    "#;

    #[test]
    fn a_good_manifest_parses_and_picks_the_served_version() {
        let manifest = Manifest::parse(GOOD).unwrap();
        assert_eq!(manifest.kind, Kind::Channel);
        assert_eq!(manifest.api_version().unwrap(), &Version::new(0, 1, 2));
        // A plugin that needs the newer minor, or pins the first one, is served too.
        let newer = Manifest::parse(&GOOD.replace("^0.1", "^0.1.2")).unwrap();
        assert_eq!(newer.api_version().unwrap(), &Version::new(0, 1, 2));
        let pinned = Manifest::parse(&GOOD.replace("^0.1", "=0.1.0")).unwrap();
        assert_eq!(pinned.api_version().unwrap(), &Version::new(0, 1, 0));
        assert!(Manifest::parse(&GOOD.replace("^0.1", "^0.1.3")).is_err(), "a minor this server lacks");
        let config = manifest.default_config();
        assert_eq!(config["api_url"], "http://127.0.0.1:8025/send");
        assert_eq!(config["retries"], "3");
    }

    #[test]
    fn an_incompatible_api_is_refused_with_both_versions() {
        let text = GOOD.replace("^0.1", "^2.0");
        let error = Manifest::parse(&text).unwrap_err().to_string();
        assert_eq!(error, "needs plugin API ^2.0, but this server serves 0.1.2, 0.1.1, 0.1.0");
    }

    #[test]
    fn malformed_manifests_say_what_is_wrong() {
        let error = Manifest::parse("name = \"x\"").unwrap_err().to_string();
        assert!(error.contains("missing field"), "{error}");
        let error = Manifest::parse(&GOOD.replace("kind = \"channel\"", "kind = \"fax\"")).unwrap_err().to_string();
        assert!(error.contains("unknown variant `fax`"), "{error}");
        let error = Manifest::parse(&GOOD.replace("\"email\"", "\"../etc\"")).unwrap_err().to_string();
        assert!(error.contains("must be 1-64 characters"), "{error}");
        let error = Manifest::parse(&format!("surprise = 1\n{GOOD}")).unwrap_err().to_string();
        assert!(error.contains("surprise"), "{error}");
    }
}
