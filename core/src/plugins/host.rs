//! [`PluginHost`]: the loaded plugins and the one way to call them. Every
//! call gets a fresh store from the plugin's pre-linked template, a deadline
//! and a memory cap; its output is checked before anyone sees it; a failure
//! fails that call only and counts towards the plugin's circuit breaker.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use serde::Serialize;
use wasmtime::component::{HasSelf, Linker};
use wasmtime::{Store, Trap};

use super::bindings::v0_1::{self, channel, crm, health};
use super::breaker::{Breaker, BreakerState, DEFAULT_COOL_DOWN, DEFAULT_THRESHOLD};
use super::limits::MemoryLimitHit;
use super::manifest::{Kind, Manifest};
use super::runtime::{Compiled, Runtime, RuntimeOptions};
use super::settings::Settings;
use super::state::{CallState, PluginContext};
use super::validate;
use crate::clock::Clock;
use crate::domain::InboundKind;
use crate::store::Store as CaseStore;

/// Where a plugin came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "type", content = "path")]
pub enum Origin {
    /// Built into the binary.
    Embedded,
    /// A folder under `--plugins-dir`.
    Dir(PathBuf),
}

/// A plugin to load: its manifest text and component bytes.
#[derive(Debug, Clone)]
pub struct PluginSource {
    /// The folder name (the plugin's name when the manifest is fine).
    pub dir_name: String,
    /// Where it came from.
    pub origin: Origin,
    /// `plugin.toml`, or why it could not be read.
    pub manifest: Result<String, String>,
    /// The component, or why it could not be read.
    pub wasm: Result<Vec<u8>, String>,
}

impl PluginSource {
    /// Reads every `DIR/<name>/plugin.toml` with its `plugin.wasm`.
    ///
    /// # Errors
    /// The directory itself cannot be read.
    pub fn scan(dir: &Path) -> std::io::Result<Vec<PluginSource>> {
        let mut found = Vec::new();
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            if !path.is_dir() {
                continue;
            }
            let read = |file: &str| std::fs::read(path.join(file)).map_err(|e| format!("{file}: {e}"));
            found.push(PluginSource {
                dir_name: path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
                origin: Origin::Dir(path.clone()),
                manifest: read("plugin.toml")
                    .and_then(|b| String::from_utf8(b).map_err(|_| "plugin.toml: not UTF-8".into())),
                wasm: read("plugin.wasm"),
            });
        }
        found.sort_by(|a, b| a.dir_name.cmp(&b.dir_name));
        Ok(found)
    }

    /// `embedded` with every `overrides` entry of the same name replacing it.
    pub fn overlay(embedded: Vec<PluginSource>, overrides: Vec<PluginSource>) -> Vec<PluginSource> {
        let mut by_name: BTreeMap<String, PluginSource> =
            embedded.into_iter().map(|s| (s.dir_name.clone(), s)).collect();
        for source in overrides {
            by_name.insert(source.dir_name.clone(), source);
        }
        by_name.into_values().collect()
    }
}

/// How the host is set up.
#[derive(Clone)]
pub struct HostOptions {
    /// Where compiled components are cached; `None` compiles every time.
    pub cache_dir: Option<PathBuf>,
    /// The server's clock, for the `clock` import.
    pub clock: Arc<dyn Clock>,
    /// The database, for the `kv` import.
    pub store: Option<Arc<dyn CaseStore>>,
    /// Count fuel (for `plugins run`).
    pub count_fuel: bool,
    /// Failures in a row that open a plugin's circuit.
    pub breaker_threshold: u32,
    /// How long an open circuit waits before a trial call.
    pub breaker_cool_down: Duration,
}

impl HostOptions {
    /// Defaults around a clock and an optional database.
    pub fn new(clock: Arc<dyn Clock>, store: Option<Arc<dyn CaseStore>>) -> Self {
        Self {
            cache_dir: None,
            clock,
            store,
            count_fuel: false,
            breaker_threshold: DEFAULT_THRESHOLD,
            breaker_cool_down: DEFAULT_COOL_DOWN,
        }
    }
}

/// The pre-linked template of one plugin, by world.
enum Template {
    Channel(channel::ChannelPre<CallState>),
    Crm(crm::CrmPre<CallState>),
    Health(health::HealthPre<CallState>),
}

/// A plugin that loaded.
struct Loaded {
    manifest: Manifest,
    context: Arc<PluginContext>,
    template: Template,
    breaker: Breaker,
    stats: Stats,
    origin: Origin,
    compiled: Compiled,
    compile_time: Duration,
}

#[derive(Default)]
struct Stats {
    calls: AtomicU64,
    failures: AtomicU64,
    plugin_errors: AtomicU64,
    last_error: std::sync::Mutex<Option<LastError>>,
    /// The measurements of the most recent failed call.
    last_failed_call: std::sync::Mutex<Option<CallReport>>,
}

/// The most recent failure of a plugin.
#[derive(Debug, Clone, Serialize)]
pub struct LastError {
    /// When.
    pub at: Timestamp,
    /// Which hook.
    pub hook: String,
    /// What happened.
    pub message: String,
}

/// A plugin that did not load, and why.
#[derive(Debug, Clone)]
struct Refused {
    name: String,
    origin: Origin,
    version: Option<String>,
    kind: Option<Kind>,
    reason: String,
}

/// What the admin API and `plugins list` show for one plugin.
#[derive(Debug, Clone, Serialize)]
pub struct PluginStatus {
    /// Name.
    pub name: String,
    /// Its own version, when the manifest said.
    pub version: Option<String>,
    /// Its kind, when the manifest said.
    pub kind: Option<Kind>,
    /// The contract version it was linked against.
    pub api: Option<String>,
    /// `running`, `circuit_open`, `disabled` or `refused`.
    pub status: &'static str,
    /// Why it is refused or disabled.
    pub reason: Option<String>,
    /// Built in, or from a folder.
    pub origin: Origin,
    /// Calls so far.
    pub calls: u64,
    /// Calls that trapped, timed out, ran out of memory or gave bad output.
    pub failures: u64,
    /// Calls where the plugin reported an error of its own.
    pub plugin_errors: u64,
    /// The latest failure or reported error.
    pub last_error: Option<LastError>,
    /// Hosts it may reach.
    pub allowed_hosts: Vec<String>,
    /// Hosts its manifest asks for that the operator did not grant.
    pub hosts_not_granted: Vec<String>,
    /// Whether its key-value store is linked.
    pub kv: bool,
    /// `fresh` or `cached`.
    pub compiled: Option<Compiled>,
    /// Time to compile or load from the cache, in milliseconds.
    pub load_ms: Option<f64>,
}

/// Why a call did not produce a result.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CallError {
    /// No plugin by that name is loaded.
    #[error("no plugin named `{0}`")]
    NotFound(String),
    /// The plugin exists but is of another kind.
    #[error("plugin `{name}` is a {actual} plugin, not a {wanted} plugin")]
    WrongKind {
        /// The plugin.
        name: String,
        /// What the caller needs.
        wanted: &'static str,
        /// What it is.
        actual: &'static str,
    },
    /// The plugin is turned off in the config.
    #[error("plugin `{0}` is disabled")]
    Disabled(String),
    /// The plugin failed too often; it is not called until the cool-down ends.
    #[error("plugin `{0}` is not called for now: its circuit is open after repeated failures")]
    CircuitOpen(String),
    /// The input was refused before the plugin ran.
    #[error("{0}")]
    InputRefused(String),
    /// The call failed by the plugin's fault (trap, timeout, memory, bad output).
    #[error("plugin `{plugin}` {hook}: {kind}: {message}")]
    Failed {
        /// The plugin.
        plugin: String,
        /// The hook.
        hook: &'static str,
        /// What kind of failure.
        kind: FailureKind,
        /// Details.
        message: String,
    },
    /// The plugin ran and reported an error of its own.
    #[error("plugin `{plugin}` {hook}: {message}")]
    Reported {
        /// The plugin.
        plugin: String,
        /// The hook.
        hook: &'static str,
        /// Its message.
        message: String,
        /// Whether it says retrying may help.
        retryable: bool,
    },
    /// No instance slot was free; not the plugin's fault, try again.
    #[error("plugin `{0}`: the server is at its limit of plugin instances; try again")]
    Busy(String),
}

/// How a plugin call failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// The guest trapped (a panic, `unreachable`, a bad memory access).
    Trap,
    /// It ran past its deadline.
    Timeout,
    /// It grew past its memory cap.
    MemoryLimit,
    /// What it returned broke the contract (out of range, too large, invalid).
    BadOutput,
}

impl std::fmt::Display for FailureKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            FailureKind::Trap => "trap",
            FailureKind::Timeout => "timeout",
            FailureKind::MemoryLimit => "memory_limit",
            FailureKind::BadOutput => "bad_output",
        })
    }
}

impl CallError {
    /// Whether the plugin itself is to blame (and the failure is worth a
    /// `plugin_error` event).
    pub fn is_plugin_fault(&self) -> bool {
        matches!(self, CallError::Failed { .. })
    }

    /// Whether trying again later may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            CallError::Reported { retryable, .. } => *retryable,
            CallError::NotFound(_) | CallError::WrongKind { .. } | CallError::Disabled(_) => false,
            CallError::InputRefused(_) => false,
            CallError::Failed { .. } | CallError::CircuitOpen(_) | CallError::Busy(_) => true,
        }
    }
}

/// Measurements of one call, for `plugins run`.
#[derive(Debug, Clone, Serialize)]
pub struct CallReport {
    /// Wall time of instantiate plus call.
    pub wall: Duration,
    /// The deadline it ran under.
    pub deadline: Duration,
    /// Fuel used, when counted.
    pub fuel: Option<u64>,
    /// Peak linear memory.
    pub peak_memory_bytes: usize,
    /// The memory cap.
    pub memory_limit_bytes: usize,
}

/// The loaded plugins.
pub struct PluginHost {
    runtime: Runtime,
    loaded: BTreeMap<String, Arc<Loaded>>,
    refused: Vec<Refused>,
}

impl std::fmt::Debug for PluginHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginHost").field("loaded", &self.loaded.keys().collect::<Vec<_>>()).finish_non_exhaustive()
    }
}

impl PluginHost {
    /// Loads every source it can; the others are refused with a reason and
    /// the rest load anyway. `operator` is the config's `[plugins]` table.
    ///
    /// # Errors
    /// Only when the engine itself cannot be built.
    pub fn load(
        sources: Vec<PluginSource>,
        operator: &BTreeMap<String, toml::Table>,
        options: &HostOptions,
    ) -> wasmtime::Result<Self> {
        let mut prepared = Vec::new();
        let mut refused = Vec::new();
        for source in sources {
            match prepare(source, operator) {
                Ok(p) => prepared.push(p),
                Err(r) => refused.push(r),
            }
        }
        for name in operator.keys() {
            if !prepared.iter().any(|(m, ..)| &m.name == name) && !refused.iter().any(|r| &r.name == name) {
                tracing::warn!(plugin = %name, "[plugins.{name}] in the config names no installed plugin");
            }
        }
        let max_memory = prepared.iter().map(|(_, s, ..)| s.memory_bytes).max().unwrap_or(32 << 20);
        let runtime = Runtime::new(RuntimeOptions { max_memory_bytes: max_memory, count_fuel: options.count_fuel })?;
        let mut loaded = BTreeMap::new();
        for (manifest, settings, source, wasm) in prepared {
            let name = manifest.name.clone();
            match link(&runtime, manifest, settings, source.origin.clone(), &wasm, options) {
                Ok(plugin) => {
                    tracing::info!(
                        plugin = %name,
                        version = %plugin.manifest.version,
                        kind = plugin.manifest.kind.as_str(),
                        compiled = ?plugin.compiled,
                        ms = plugin.compile_time.as_secs_f64() * 1000.0,
                        "plugin loaded"
                    );
                    loaded.insert(name, Arc::new(plugin));
                }
                Err(r) => refused.push(*r),
            }
        }
        for r in &refused {
            tracing::warn!(plugin = %r.name, reason = %r.reason, "plugin refused");
        }
        Ok(Self { runtime, loaded, refused })
    }

    /// Every plugin, loaded or refused, by name.
    pub fn statuses(&self) -> Vec<PluginStatus> {
        let now = Instant::now();
        let mut all: Vec<PluginStatus> = self.loaded.values().map(|p| p.status(now)).collect();
        all.extend(self.refused.iter().map(|r| PluginStatus {
            name: r.name.clone(),
            version: r.version.clone(),
            kind: r.kind,
            api: None,
            status: "refused",
            reason: Some(r.reason.clone()),
            origin: r.origin.clone(),
            calls: 0,
            failures: 0,
            plugin_errors: 0,
            last_error: None,
            allowed_hosts: Vec::new(),
            hosts_not_granted: Vec::new(),
            kv: false,
            compiled: None,
            load_ms: None,
        }));
        all.sort_by(|a, b| a.name.cmp(&b.name));
        all
    }

    /// Names of the running plugins of `kind`.
    pub fn names_of(&self, kind: Kind) -> Vec<String> {
        self.loaded
            .values()
            .filter(|p| p.manifest.kind == kind && p.context.settings.enabled)
            .map(|p| p.manifest.name.clone())
            .collect()
    }

    /// The webhook secret of a channel plugin, if configured.
    pub fn secret(&self, name: &str) -> Option<&str> {
        self.loaded.get(name)?.context.settings.secret.as_deref()
    }

    /// The largest inbound body a channel plugin takes.
    pub fn max_inbound_bytes(&self, name: &str) -> Option<usize> {
        Some(self.loaded.get(name)?.context.settings.max_inbound_bytes)
    }

    /// Whether `name` is a loaded plugin of `kind`.
    pub fn is(&self, name: &str, kind: Kind) -> bool {
        self.loaded.get(name).is_some_and(|p| p.manifest.kind == kind)
    }

    /// `parse-inbound` of a channel plugin.
    ///
    /// # Errors
    /// See [`CallError`].
    pub fn parse_inbound(
        &self,
        name: &str,
        headers: &[(String, String)],
        body: &[u8],
    ) -> Result<(Vec<v0_1::InboundMessage>, CallReport), CallError> {
        let (messages, report) = self.parse_inbound_with_kinds(name, headers, body)?;
        Ok((messages.into_iter().map(|(message, _)| message).collect(), report))
    }

    /// `parse-inbound` of a channel plugin, each message with the kind the
    /// plugin marked it as through `message-kinds` (contract 0.1.2;
    /// `Normal` when it did not).
    ///
    /// # Errors
    /// See [`CallError`].
    pub fn parse_inbound_with_kinds(
        &self,
        name: &str,
        headers: &[(String, String)],
        body: &[u8],
    ) -> Result<(Vec<(v0_1::InboundMessage, InboundKind)>, CallReport), CallError> {
        let plugin = self.plugin(name, Kind::Channel)?;
        let limit = plugin.context.settings.max_inbound_bytes;
        if body.len() > limit {
            return Err(CallError::InputRefused(format!(
                "the body is {} bytes, over the {limit}-byte limit of plugin `{name}`",
                body.len()
            )));
        }
        let deadline = plugin.context.settings.timeout;
        let check =
            |(messages, _): &(Vec<v0_1::InboundMessage>, Vec<(String, InboundKind)>)| validate::inbound(messages);
        let ((messages, kinds), report) = self.run(&plugin, "parse-inbound", deadline, check, |store, template| {
            let Template::Channel(pre) = template else { unreachable!("checked by kind") };
            let parsed = pre.instantiate(&mut *store)?.call_parse_inbound(&mut *store, headers, body)?;
            let kinds = store.data_mut().take_kinds();
            Ok(parsed.map(|messages| (messages, kinds)))
        })?;
        let kind_of =
            |id: &str| kinds.iter().find(|(marked, _)| marked == id).map(|(_, k)| k.clone()).unwrap_or_default();
        let messages = messages
            .into_iter()
            .map(|m| {
                let kind = kind_of(&m.channel_message_id);
                (m, kind)
            })
            .collect();
        Ok((messages, report))
    }

    /// `deliver` of a channel plugin.
    ///
    /// # Errors
    /// See [`CallError`].
    pub fn deliver(
        &self,
        name: &str,
        message: &v0_1::OutboundMessage,
    ) -> Result<(v0_1::DeliveryReceipt, CallReport), CallError> {
        let plugin = self.plugin(name, Kind::Channel)?;
        let deadline = plugin.context.settings.io_timeout;
        self.run(&plugin, "deliver", deadline, validate::receipt, |store, template| match template {
            Template::Channel(pre) => pre.instantiate(&mut *store)?.call_deliver(&mut *store, message),
            _ => unreachable!("checked by kind"),
        })
    }

    /// `enrich` of a CRM plugin.
    ///
    /// # Errors
    /// See [`CallError`].
    pub fn enrich(
        &self,
        name: &str,
        customer: &v0_1::Customer,
    ) -> Result<(v0_1::CustomerPatch, CallReport), CallError> {
        let plugin = self.plugin(name, Kind::Crm)?;
        let deadline = plugin.context.settings.io_timeout;
        self.run(&plugin, "enrich", deadline, validate::patch, |store, template| match template {
            Template::Crm(pre) => pre.instantiate(&mut *store)?.call_enrich(&mut *store, customer),
            _ => unreachable!("checked by kind"),
        })
    }

    /// `on-case-event` of a CRM plugin.
    ///
    /// # Errors
    /// See [`CallError`].
    pub fn on_case_event(&self, name: &str, event: &v0_1::CaseEvent) -> Result<((), CallReport), CallError> {
        let plugin = self.plugin(name, Kind::Crm)?;
        let deadline = plugin.context.settings.io_timeout;
        self.run(
            &plugin,
            "on-case-event",
            deadline,
            |_| Ok(()),
            |store, template| match template {
                Template::Crm(pre) => pre.instantiate(&mut *store)?.call_on_case_event(&mut *store, event),
                _ => unreachable!("checked by kind"),
            },
        )
    }

    /// `score` of a health plugin.
    ///
    /// # Errors
    /// See [`CallError`].
    pub fn score(
        &self,
        name: &str,
        customer: &v0_1::Customer,
        signals: &[v0_1::Signal],
    ) -> Result<(v0_1::Health, CallReport), CallError> {
        let plugin = self.plugin(name, Kind::Health)?;
        let deadline = plugin.context.settings.timeout;
        self.run(&plugin, "score", deadline, validate::health, |store, template| match template {
            Template::Health(pre) => pre.instantiate(&mut *store)?.call_score(&mut *store, customer, signals),
            _ => unreachable!("checked by kind"),
        })
    }

    fn plugin(&self, name: &str, kind: Kind) -> Result<Arc<Loaded>, CallError> {
        let plugin = self.loaded.get(name).ok_or_else(|| CallError::NotFound(name.into()))?;
        if plugin.manifest.kind != kind {
            return Err(CallError::WrongKind {
                name: name.into(),
                wanted: kind.as_str(),
                actual: plugin.manifest.kind.as_str(),
            });
        }
        if !plugin.context.settings.enabled {
            return Err(CallError::Disabled(name.into()));
        }
        Ok(plugin.clone())
    }

    /// Runs one call in a fresh store under the plugin's limits, checks the
    /// output with `check`, and keeps the plugin's stats and breaker.
    fn run<R>(
        &self,
        plugin: &Loaded,
        hook: &'static str,
        deadline: Duration,
        check: impl FnOnce(&R) -> Result<(), String>,
        call: impl FnOnce(&mut Store<CallState>, &Template) -> wasmtime::Result<Result<R, v0_1::PluginError>>,
    ) -> Result<(R, CallReport), CallError> {
        let name = plugin.manifest.name.as_str();
        let started = Instant::now();
        if !plugin.breaker.admit(started) {
            return Err(CallError::CircuitOpen(name.into()));
        }
        plugin.stats.calls.fetch_add(1, Ordering::Relaxed);
        let mut store = Store::new(self.runtime.engine(), CallState::new(plugin.context.clone(), deadline));
        store.limiter(|state| &mut state.limit);
        store.set_epoch_deadline(Runtime::ticks(deadline));
        store.epoch_deadline_trap();
        const FUEL: u64 = u64::MAX / 2;
        if self.runtime.counts_fuel() {
            let _ = store.set_fuel(FUEL);
        }
        let outcome = call(&mut store, &plugin.template);
        let report = CallReport {
            wall: started.elapsed(),
            deadline,
            fuel: self.runtime.counts_fuel().then(|| FUEL - store.get_fuel().unwrap_or(FUEL)),
            peak_memory_bytes: store.data().limit.peak_bytes(),
            memory_limit_bytes: plugin.context.settings.memory_bytes,
        };
        let failure =
            |kind: FailureKind, message: String| CallError::Failed { plugin: name.into(), hook, kind, message };
        let result = match outcome {
            Ok(Ok(value)) => match check(&value) {
                Ok(()) => Ok(value),
                Err(why) => Err(failure(FailureKind::BadOutput, why)),
            },
            Ok(Err(reported)) => Err(CallError::Reported {
                plugin: name.into(),
                hook,
                message: reported.message,
                retryable: reported.retryable,
            }),
            Err(error) => match classify(&error) {
                Some(kind) if kind != FailureKind::Timeout => {
                    tracing::debug!(plugin = name, hook, "plugin failure in full: {error:?}");
                    Err(failure(kind, describe(&error, kind, deadline)))
                }
                Some(kind) => Err(failure(kind, describe(&error, kind, deadline))),
                None => Err(CallError::Busy(name.into())),
            },
        };
        plugin.record(hook, &result);
        match result {
            Ok(value) => Ok((value, report)),
            Err(error) => {
                *plugin.stats.last_failed_call.lock().unwrap_or_else(|e| e.into_inner()) = Some(report);
                Err(error)
            }
        }
    }

    /// The measurements of plugin `name`'s most recent failed call (its
    /// error carries none), for an author to see how far it got.
    pub fn last_failed_call(&self, name: &str) -> Option<CallReport> {
        let plugin = self.loaded.get(name)?;
        plugin.stats.last_failed_call.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl Loaded {
    fn status(&self, now: Instant) -> PluginStatus {
        let settings = &self.context.settings;
        let (status, reason) = if !settings.enabled {
            ("disabled", settings.disabled_reason.clone())
        } else {
            match self.breaker.state(now) {
                BreakerState::Open => ("circuit_open", Some("repeated failures; waiting out the cool-down".into())),
                BreakerState::HalfOpen | BreakerState::Closed => ("running", None),
            }
        };
        PluginStatus {
            name: self.manifest.name.clone(),
            version: Some(self.manifest.version.to_string()),
            kind: Some(self.manifest.kind),
            api: self.manifest.api_version().ok().map(ToString::to_string),
            status,
            reason,
            origin: self.origin.clone(),
            calls: self.stats.calls.load(Ordering::Relaxed),
            failures: self.stats.failures.load(Ordering::Relaxed),
            plugin_errors: self.stats.plugin_errors.load(Ordering::Relaxed),
            last_error: self.stats.last_error.lock().unwrap_or_else(|e| e.into_inner()).clone(),
            allowed_hosts: settings.allowed_hosts.clone(),
            hosts_not_granted: settings.hosts_not_granted.clone(),
            kv: settings.kv,
            compiled: Some(self.compiled),
            load_ms: Some(self.compile_time.as_secs_f64() * 1000.0),
        }
    }

    fn record<R>(&self, hook: &str, result: &Result<R, CallError>) {
        let error = match result {
            Ok(_) => {
                self.breaker.succeeded();
                return;
            }
            Err(e) => e,
        };
        match error {
            CallError::Failed { .. } => {
                self.stats.failures.fetch_add(1, Ordering::Relaxed);
                if self.breaker.failed(Instant::now()) {
                    tracing::warn!(plugin = %self.manifest.name, "plugin circuit opened after repeated failures");
                }
                tracing::warn!(plugin = %self.manifest.name, hook, error = %error, "plugin call failed");
            }
            CallError::Reported { .. } => {
                // The plugin works; what it reached did not.
                self.breaker.succeeded();
                self.stats.plugin_errors.fetch_add(1, Ordering::Relaxed);
                tracing::info!(plugin = %self.manifest.name, hook, error = %error, "plugin reported an error");
            }
            _ => return,
        }
        let last = LastError { at: self.context.clock.now(), hook: hook.into(), message: error.to_string() };
        *self.stats.last_error.lock().unwrap_or_else(|e| e.into_inner()) = Some(last);
    }
}

/// What kind of plugin failure `error` is; `None` for the host's own
/// trouble (no free instance slot).
fn classify(error: &wasmtime::Error) -> Option<FailureKind> {
    if error.downcast_ref::<MemoryLimitHit>().is_some() {
        return Some(FailureKind::MemoryLimit);
    }
    match error.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => return Some(FailureKind::Timeout),
        Some(Trap::OutOfFuel) => return Some(FailureKind::Timeout),
        Some(_) => return Some(FailureKind::Trap),
        None => {}
    }
    let text = format!("{error:#}");
    if text.contains("maximum concurrent") || text.contains("pooling allocator") {
        return None;
    }
    // Anything else is the canonical ABI refusing what the guest handed
    // back: invalid UTF-8, an out-of-bounds list, a bad discriminant.
    Some(FailureKind::BadOutput)
}

fn describe(error: &wasmtime::Error, kind: FailureKind, deadline: Duration) -> String {
    match kind {
        FailureKind::Timeout => format!("ran past its {} ms deadline", deadline.as_millis()),
        FailureKind::MemoryLimit => match error.downcast_ref::<MemoryLimitHit>() {
            Some(hit) => hit.to_string(),
            None => root_cause(error),
        },
        FailureKind::Trap | FailureKind::BadOutput => root_cause(error),
    }
}

/// The innermost error's first line: what went wrong, without the wasm
/// backtrace (which goes to the log for the plugin's author).
fn root_cause(error: &wasmtime::Error) -> String {
    let text = error.root_cause().to_string();
    text.lines().next().unwrap_or_default().chars().take(500).collect()
}

type Prepared = (Manifest, Settings, PluginSource, Vec<u8>);

/// Parses the manifest and merges the settings; refuses before any compiling.
fn prepare(source: PluginSource, operator: &BTreeMap<String, toml::Table>) -> Result<Prepared, Refused> {
    let refuse = |name: &str, version: Option<String>, kind: Option<Kind>, reason: String| Refused {
        name: name.into(),
        origin: source.origin.clone(),
        version,
        kind,
        reason,
    };
    let text = source.manifest.clone().map_err(|e| refuse(&source.dir_name, None, None, e))?;
    let manifest = Manifest::parse(&text).map_err(|e| {
        // Say what we can of a manifest that names an incompatible API.
        let partial: Option<toml::Table> = toml::from_str(&text).ok();
        let field = |k: &str| partial.as_ref().and_then(|t| t.get(k)).and_then(|v| v.as_str()).map(str::to_owned);
        let kind = field("kind").and_then(|k| serde_json::from_value(serde_json::Value::String(k)).ok());
        refuse(&field("name").unwrap_or_else(|| source.dir_name.clone()), field("version"), kind, e.to_string())
    })?;
    let version = Some(manifest.version.to_string());
    if let Origin::Dir(_) = source.origin
        && manifest.name != source.dir_name
    {
        return Err(refuse(
            &source.dir_name,
            version,
            Some(manifest.kind),
            format!("its folder is `{}` but plugin.toml names it `{}`", source.dir_name, manifest.name),
        ));
    }
    let settings = Settings::merge(&manifest, operator.get(&manifest.name))
        .map_err(|e| refuse(&manifest.name, version.clone(), Some(manifest.kind), e.to_string()))?;
    let wasm = source.wasm.clone().map_err(|e| refuse(&manifest.name, version, Some(manifest.kind), e))?;
    Ok((manifest, settings, source, wasm))
}

/// Compiles (or loads from the cache) and links one plugin.
fn link(
    runtime: &Runtime,
    manifest: Manifest,
    settings: Settings,
    origin: Origin,
    wasm: &[u8],
    options: &HostOptions,
) -> Result<Loaded, Box<Refused>> {
    let refuse = |reason: String| {
        Box::new(Refused {
            name: manifest.name.clone(),
            origin: origin.clone(),
            version: Some(manifest.version.to_string()),
            kind: Some(manifest.kind),
            reason,
        })
    };
    let (component, compiled, compile_time) = runtime
        .load(wasm, options.cache_dir.as_deref())
        .map_err(|e| refuse(format!("not a valid WebAssembly component: {}", first_line(&e))))?;
    let mut linker = Linker::<CallState>::new(runtime.engine());
    linker_with_imports(&mut linker, settings.kv).map_err(|e| refuse(format!("linking: {}", first_line(&e))))?;
    let pre = linker.instantiate_pre(&component).map_err(|e| {
        let text = first_line(&e);
        if text.contains("frontdesk:plugin/kv") {
            refuse("it imports the key-value store, which was not granted (`kv = true` in its manifest and in [plugins.NAME])".into())
        } else {
            refuse(format!("it needs an import this server does not provide: {text}"))
        }
    })?;
    let world = manifest.kind.as_str();
    let wrong_world =
        |e: wasmtime::Error| refuse(format!("it does not export the `{world}` world: {}", first_line(&e)));
    let template = match manifest.kind {
        Kind::Channel => Template::Channel(channel::ChannelPre::new(pre).map_err(wrong_world)?),
        Kind::Crm => Template::Crm(crm::CrmPre::new(pre).map_err(wrong_world)?),
        Kind::Health => Template::Health(health::HealthPre::new(pre).map_err(wrong_world)?),
    };
    let context = Arc::new(PluginContext {
        name: manifest.name.clone(),
        settings,
        clock: options.clock.clone(),
        store: options.store.clone(),
    });
    Ok(Loaded {
        manifest,
        context,
        template,
        breaker: Breaker::new(options.breaker_threshold, options.breaker_cool_down),
        stats: Stats::default(),
        origin,
        compiled,
        compile_time,
    })
}

/// WASI (with nothing inherited), gated HTTP, and the contract's imports;
/// the key-value store only when granted.
fn linker_with_imports(linker: &mut Linker<CallState>, kv: bool) -> wasmtime::Result<()> {
    use channel::frontdesk::plugin as imports;
    wasmtime_wasi::p2::add_to_linker_sync(linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_sync(linker)?;
    imports::types::add_to_linker::<_, HasSelf<_>>(linker, |s| s)?;
    imports::log::add_to_linker::<_, HasSelf<_>>(linker, |s| s)?;
    imports::clock::add_to_linker::<_, HasSelf<_>>(linker, |s| s)?;
    imports::config::add_to_linker::<_, HasSelf<_>>(linker, |s| s)?;
    // Contract 0.1.2; plugins built before it do not import it.
    imports::message_kinds::add_to_linker::<_, HasSelf<_>>(linker, |s| s)?;
    if kv {
        imports::kv::add_to_linker::<_, HasSelf<_>>(linker, |s| s)?;
    }
    Ok(())
}

fn first_line(error: &wasmtime::Error) -> String {
    format!("{error:#}").lines().next().unwrap_or_default().to_owned()
}
