//! `frontdesk.toml`: parsed strictly (unknown keys are an error naming the
//! file, line and key), every section optional with documented defaults.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use frontdesk_core::rules::ScriptLimits;
use frontdesk_core::sla::{CalendarConfig, SlaBook, SlaConfig};
use serde::Deserialize;

/// The configuration shipped inside the binary, used when no file is given
/// and `config/frontdesk.toml` does not exist in the working directory.
pub const EMBEDDED: &str = include_str!("../config/frontdesk.toml");

/// The whole file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FileConfig {
    /// `[server]`.
    pub server: ServerConfig,
    /// `[cases]`.
    pub cases: CasesConfig,
    /// `[calendars.NAME]`: business calendars.
    pub calendars: BTreeMap<String, CalendarConfig>,
    /// `[sla]`: SLA policies.
    pub sla: SlaConfig,
    /// `[scripts]`: rule engine limits and scheduling.
    pub scripts: ScriptLimits,
    /// `[plugins.NAME]`: per-plugin config and secrets.
    pub plugins: BTreeMap<String, toml::Table>,
    /// `[notify]`: where rules' notifications go.
    pub notify: frontdesk_core::runtime::NotifyConfig,
    /// `[console]`: the agent console's sessions.
    pub console: ConsoleConfig,
}

/// `[console]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConsoleConfig {
    /// A session not used for this long ends (`8h`).
    pub session_idle: String,
    /// A session ends this long after sign-in, used or not (`7d`).
    pub session_max: String,
    /// Mark the session cookie `Secure` (serve the console over TLS,
    /// directly or behind a proxy, when this is on).
    pub secure_cookies: bool,
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        Self { session_idle: "8h".into(), session_max: "7d".into(), secure_cookies: false }
    }
}

impl ConsoleConfig {
    /// The session policy these settings describe.
    ///
    /// # Errors
    /// A bad duration, or an idle limit longer than the absolute one.
    pub fn sessions(&self) -> anyhow::Result<crate::console::SessionPolicy> {
        let idle = jiff::SignedDuration::try_from(seconds(&self.session_idle)?)?;
        let absolute = jiff::SignedDuration::try_from(seconds(&self.session_max)?)?;
        anyhow::ensure!(idle <= absolute, "console.session_idle must not exceed console.session_max");
        Ok(crate::console::SessionPolicy { idle, absolute, secure_cookies: self.secure_cookies })
    }
}

/// `[server]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Listen address.
    pub bind: SocketAddr,
    /// Data directory.
    pub data_dir: PathBuf,
    /// Largest accepted request body.
    pub max_body_bytes: usize,
    /// Per-request time limit.
    pub request_timeout: String,
    /// Time allowed to send the request headers.
    pub header_read_timeout: String,
    /// Most concurrent connections.
    pub max_connections: usize,
    /// Most queued writes.
    pub queue_capacity: usize,
    /// Most writes per transaction.
    pub batch_limit: usize,
    /// The database's page cache, in MiB.
    pub cache_mib: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("data"),
            max_body_bytes: 1024 * 1024,
            request_timeout: "30s".into(),
            header_read_timeout: "10s".into(),
            max_connections: 1024,
            queue_capacity: 4096,
            batch_limit: 512,
            cache_mib: 64,
        }
    }
}

/// `[cases]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CasesConfig {
    /// How long a solved case stays solved before it closes.
    pub auto_close_after: String,
}

impl Default for CasesConfig {
    fn default() -> Self {
        Self { auto_close_after: "4d".into() }
    }
}

impl FileConfig {
    /// Reads `path`, or with `None` the working directory's
    /// `config/frontdesk.toml` if present, else the embedded defaults.
    ///
    /// # Errors
    /// Unreadable file, bad TOML, unknown keys, bad values.
    pub fn load(path: Option<&Path>) -> anyhow::Result<(Self, String)> {
        let default = Path::new("config/frontdesk.toml");
        let (text, origin) = match path {
            Some(path) => (
                std::fs::read_to_string(path).with_context(|| format!("cannot read config file {}", path.display()))?,
                path.display().to_string(),
            ),
            None if default.exists() => (
                std::fs::read_to_string(default)
                    .with_context(|| format!("cannot read config file {}", default.display()))?,
                default.display().to_string(),
            ),
            None => (EMBEDDED.to_owned(), "embedded config/frontdesk.toml".to_owned()),
        };
        let config = Self::parse(&text).with_context(|| format!("invalid config in {origin}"))?;
        Ok((config, origin))
    }

    /// Parses and validates config text.
    ///
    /// # Errors
    /// Bad TOML (with line and column), unknown keys, bad durations.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let config: FileConfig = toml::from_str(text)?;
        config.server.request_timeout().context("server.request_timeout")?;
        config.server.header_read_timeout().context("server.header_read_timeout")?;
        config.cases.auto_close_after().context("cases.auto_close_after")?;
        config.sla_book()?;
        seconds(&config.scripts.tick_interval).context("scripts.tick_interval")?;
        let s = &config.scripts;
        for (key, value) in [
            ("max_operations", s.max_operations as usize),
            ("max_call_depth", s.max_call_depth),
            ("max_expr_depth", s.max_expr_depth),
            ("max_string_size", s.max_string_size),
            ("max_array_size", s.max_array_size),
            ("max_map_size", s.max_map_size),
            ("timeout_ms", s.timeout_ms as usize),
            ("cascade_depth", s.cascade_depth),
        ] {
            // Rhai reads 0 as "no limit": never let a config turn a limit off.
            anyhow::ensure!(value > 0, "scripts.{key} must be at least 1");
        }
        seconds(&config.scripts.outreach_window).context("scripts.outreach_window")?;
        anyhow::ensure!(config.server.max_connections > 0, "server.max_connections must be at least 1");
        anyhow::ensure!(config.server.batch_limit > 0, "server.batch_limit must be at least 1");
        anyhow::ensure!(config.server.queue_capacity > 0, "server.queue_capacity must be at least 1");
        anyhow::ensure!(config.server.cache_mib > 0, "server.cache_mib must be at least 1");
        Ok(config)
    }
}

impl FileConfig {
    /// The calendars and SLA policies, validated.
    ///
    /// # Errors
    /// A bad calendar, an unknown calendar in a policy, a condition that does
    /// not compile.
    pub fn sla_book(&self) -> anyhow::Result<SlaBook> {
        Ok(SlaBook::new(&self.calendars, &self.sla)?)
    }
}

fn seconds(text: &str) -> anyhow::Result<Duration> {
    Ok(Duration::from_secs(frontdesk_core::duration::parse_duration(text)?))
}

impl ServerConfig {
    /// `request_timeout` parsed.
    ///
    /// # Errors
    /// A bad duration.
    pub fn request_timeout(&self) -> anyhow::Result<Duration> {
        seconds(&self.request_timeout)
    }

    /// `header_read_timeout` parsed.
    ///
    /// # Errors
    /// A bad duration.
    pub fn header_read_timeout(&self) -> anyhow::Result<Duration> {
        seconds(&self.header_read_timeout)
    }
}

impl FileConfig {
    /// How often `on_tick` runs.
    ///
    /// # Errors
    /// A bad duration.
    pub fn tick_interval(&self) -> anyhow::Result<Duration> {
        seconds(&self.scripts.tick_interval)
    }

    /// The outreach dedupe window.
    ///
    /// # Errors
    /// A bad duration.
    pub fn outreach_window(&self) -> anyhow::Result<jiff::SignedDuration> {
        Ok(jiff::SignedDuration::try_from(seconds(&self.scripts.outreach_window)?)?)
    }
}

impl CasesConfig {
    /// `auto_close_after` parsed.
    ///
    /// # Errors
    /// A bad duration.
    pub fn auto_close_after(&self) -> anyhow::Result<jiff::SignedDuration> {
        Ok(jiff::SignedDuration::try_from(seconds(&self.auto_close_after)?)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_config_is_valid_and_empty_config_takes_defaults() {
        FileConfig::parse(EMBEDDED).unwrap();
        let empty = FileConfig::parse("").unwrap();
        assert_eq!(empty.server.max_body_bytes, 1024 * 1024);
        assert_eq!(empty.cases.auto_close_after().unwrap(), jiff::SignedDuration::from_hours(96));
    }

    #[test]
    fn unknown_keys_are_errors_with_line_and_key() {
        let err = format!("{:#}", FileConfig::parse("[server]\nbind = \"127.0.0.1:1\"\nbnid = 3\n").unwrap_err());
        assert!(err.contains("line 3"), "{err}");
        assert!(err.contains("bnid"), "{err}");
    }
}
