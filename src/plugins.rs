//! Plugins in the binary: the first-party ones embedded at build time, the
//! `--plugins-dir` overlay, and the `plugins list` / `plugins run` commands.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use frontdesk_core::plugins::{CallReport, HostOptions, Origin, PluginHost, PluginSource, PluginStatus, v0_1};
use frontdesk_core::{Clock, SystemClock};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::config::FileConfig;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded_plugins.rs"));
}

/// The plugins built into this binary.
pub fn embedded() -> Vec<PluginSource> {
    embedded::EMBEDDED
        .iter()
        .map(|(name, manifest, wasm)| PluginSource {
            dir_name: (*name).to_owned(),
            origin: Origin::Embedded,
            manifest: Ok((*manifest).to_owned()),
            wasm: Ok(wasm.to_vec()),
        })
        .collect()
}

/// The embedded plugins with `plugins_dir`'s laid over them by name.
///
/// # Errors
/// `plugins_dir` given but unreadable.
pub fn sources(plugins_dir: Option<&Path>) -> anyhow::Result<Vec<PluginSource>> {
    let overrides = match plugins_dir {
        Some(dir) => {
            PluginSource::scan(dir).with_context(|| format!("cannot read plugins directory {}", dir.display()))?
        }
        None => Vec::new(),
    };
    Ok(PluginSource::overlay(embedded(), overrides))
}

/// `frontdesk plugins list`.
///
/// # Errors
/// Bad config or an unreadable plugins directory.
pub fn list(config: Option<&Path>, plugins_dir: Option<&Path>) -> anyhow::Result<()> {
    let (config, _) = FileConfig::load(config)?;
    let options = HostOptions::new(Arc::new(SystemClock), None);
    let host = PluginHost::load(sources(plugins_dir)?, &config.plugins, &options)
        .map_err(|e| anyhow::anyhow!("cannot start the plugin engine: {e}"))?;
    println!("{:<16} {:<9} {:<8} {:<6} {:<10} DETAILS", "NAME", "VERSION", "KIND", "API", "STATUS");
    for status in host.statuses() {
        println!(
            "{:<16} {:<9} {:<8} {:<6} {:<10} {}",
            status.name,
            status.version.as_deref().unwrap_or("-"),
            status.kind.map_or("-", |k| k.as_str()),
            status.api.as_deref().unwrap_or("-"),
            status.status,
            details(&status)
        );
    }
    Ok(())
}

fn details(status: &PluginStatus) -> String {
    let mut parts = Vec::new();
    if let Some(reason) = &status.reason {
        parts.push(reason.clone());
    }
    parts.push(match &status.origin {
        Origin::Embedded => "built in".to_owned(),
        Origin::Dir(path) => format!("from {}", path.display()),
    });
    if !status.allowed_hosts.is_empty() {
        parts.push(format!("may reach {}", status.allowed_hosts.join(", ")));
    }
    if !status.hosts_not_granted.is_empty() {
        parts.push(format!("asks for {} (not granted)", status.hosts_not_granted.join(", ")));
    }
    if status.kv {
        parts.push("kv".into());
    }
    parts.join("; ")
}

/// `frontdesk plugins run PLUGIN HOOK --input FILE`.
///
/// # Errors
/// Bad config, an unknown plugin or hook, an input that does not fit the
/// hook, or a call that failed (the failure is printed with the numbers).
pub fn run(
    plugin: &str,
    hook: &str,
    input: &Path,
    config: Option<&Path>,
    plugins_dir: Option<&Path>,
) -> anyhow::Result<()> {
    let (config, _) = FileConfig::load(config)?;
    let text = std::fs::read_to_string(input).with_context(|| format!("cannot read {}", input.display()))?;
    let input: Value = serde_json::from_str(&text).with_context(|| format!("{} is not JSON", input.display()))?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let mut options = HostOptions::new(clock, None);
    options.count_fuel = true;
    let host = PluginHost::load(sources(plugins_dir)?, &config.plugins, &options)
        .map_err(|e| anyhow::anyhow!("cannot start the plugin engine: {e}"))?;
    if let Some(status) = host.statuses().into_iter().find(|s| s.name == plugin && s.status == "refused") {
        anyhow::bail!("plugin {plugin} is refused: {}", status.reason.unwrap_or_default());
    }
    let input_bytes = text.len();
    let (output, report) = match call(&host, plugin, hook, &input) {
        Ok(done) => done,
        Err(error) => {
            if let Some(report) = host.last_failed_call(plugin) {
                print_report(input_bytes, 0, &report);
            }
            return Err(error);
        }
    };
    let output_text = serde_json::to_string_pretty(&output)?;
    println!("{output_text}");
    print_report(input_bytes, output_text.len(), &report);
    Ok(())
}

fn call(host: &PluginHost, plugin: &str, hook: &str, input: &Value) -> anyhow::Result<(Value, CallReport)> {
    let result = match hook {
        "parse-inbound" => {
            let headers: Vec<(String, String)> = field::<std::collections::BTreeMap<String, String>>(input, "headers")
                .unwrap_or_default()
                .into_iter()
                .collect();
            let body = match input.get("body") {
                Some(Value::String(s)) => s.clone().into_bytes(),
                Some(other) => other.to_string().into_bytes(),
                None => anyhow::bail!("parse-inbound input needs \"body\" (a string, or JSON to send as text)"),
            };
            host.parse_inbound(plugin, &headers, &body).map(|(v, r)| (json!(v), r))
        }
        "deliver" => host.deliver(plugin, &parse::<v0_1::OutboundMessage>(input)?).map(|(v, r)| (json!(v), r)),
        "enrich" => host.enrich(plugin, &parse::<v0_1::Customer>(input)?).map(|(v, r)| (json!(v), r)),
        "on-case-event" => host.on_case_event(plugin, &parse::<v0_1::CaseEvent>(input)?).map(|(_, r)| (json!(null), r)),
        "score" => {
            let customer = field::<v0_1::Customer>(input, "customer").context("score input needs \"customer\"")?;
            let signals: Vec<v0_1::Signal> = field::<std::collections::BTreeMap<String, f64>>(input, "signals")
                .context("score input needs \"signals\": {name: number}")?
                .into_iter()
                .map(|(name, value)| v0_1::Signal { name, value })
                .collect();
            host.score(plugin, &customer, &signals).map(|(v, r)| (json!(v), r))
        }
        other => anyhow::bail!("unknown hook `{other}`: use parse-inbound, deliver, enrich, on-case-event or score"),
    };
    result.map_err(|e| anyhow::anyhow!("{e}"))
}

fn parse<T: DeserializeOwned>(input: &Value) -> anyhow::Result<T> {
    serde_json::from_value(input.clone()).map_err(|e| anyhow::anyhow!("the input does not fit the hook: {e}"))
}

fn field<T: DeserializeOwned>(input: &Value, name: &str) -> Option<T> {
    input.get(name).and_then(|v| serde_json::from_value(v.clone()).ok())
}

fn print_report(input_bytes: usize, output_bytes: usize, report: &CallReport) {
    eprintln!("---");
    eprintln!(
        "wall time:   {:.2} ms (deadline {} ms)",
        report.wall.as_secs_f64() * 1000.0,
        report.deadline.as_millis()
    );
    if let Some(fuel) = report.fuel {
        eprintln!("fuel used:   {fuel}");
    }
    eprintln!(
        "peak memory: {:.1} MiB (limit {} MiB)",
        report.peak_memory_bytes as f64 / f64::from(1 << 20),
        report.memory_limit_bytes >> 20
    );
    eprintln!("input:       {input_bytes} bytes");
    eprintln!("output:      {output_bytes} bytes");
}
