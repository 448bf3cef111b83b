//! What one plugin call's store holds, and the host side of the contract's
//! imports: log, clock, config, key-value, and outbound HTTP through a gate
//! that lets only granted hosts through.

use std::sync::Arc;
use std::time::Duration;

use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks, WasiHttpView};

use super::bindings::v0_1::channel::frontdesk::plugin::{clock, config, kv, log, message_kinds, types};
use super::limits::MemoryLimit;
use super::settings::Settings;
use crate::clock::Clock;
use crate::domain::{BounceReport, InboundKind};
use crate::store::Store;

/// Most log lines one call may write; the rest are dropped with a note.
const MAX_LOG_LINES_PER_CALL: u32 = 50;
/// Longest log line kept.
const MAX_LOG_LINE_BYTES: usize = 2048;
/// Longest key-value key.
const MAX_KV_KEY_BYTES: usize = 256;
/// Largest key-value value.
const MAX_KV_VALUE_BYTES: usize = 64 * 1024;
/// Most message kinds one call may mark (one per message it may return).
const MAX_KIND_MARKS: usize = 100;

/// What a call's host functions need that outlives the call.
pub struct PluginContext {
    /// The plugin's name, for logs and the key-value namespace.
    pub name: String,
    /// Grants, limits and config.
    pub settings: Settings,
    /// The server's clock.
    pub clock: Arc<dyn Clock>,
    /// Where the key-value store lives; `None` outside a server (`plugins run`).
    pub store: Option<Arc<dyn Store>>,
}

impl std::fmt::Debug for PluginContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginContext").field("name", &self.name).finish_non_exhaustive()
    }
}

/// The data of one call's `Store`.
pub struct CallState {
    context: Arc<PluginContext>,
    wasi: WasiCtx,
    table: ResourceTable,
    http: WasiHttpCtx,
    gate: HttpGate,
    /// The instance's memory cap.
    pub limit: MemoryLimit,
    log_lines: u32,
    /// When the call is stopped, as the plugin reads it from `clock`.
    deadline_unix_ms: i64,
    /// What `message-kinds` marked during a `parse-inbound` call, by
    /// channel message id.
    kinds: Vec<(String, InboundKind)>,
}

impl CallState {
    /// A fresh state for one call that may run for `deadline`: WASI with
    /// nothing inherited (no env, args, stdio, files or sockets), HTTP
    /// through the gate, whose timeouts are capped at the deadline too.
    pub fn new(context: Arc<PluginContext>, deadline: Duration) -> Self {
        let wasi = WasiCtx::builder().allow_tcp(false).allow_udp(false).allow_ip_name_lookup(false).build();
        let limit = MemoryLimit::new(context.settings.memory_bytes);
        let millis = i64::try_from(deadline.as_millis()).unwrap_or(i64::MAX);
        let deadline_unix_ms = context.clock.now().as_millisecond().saturating_add(millis);
        let gate = HttpGate { context: context.clone(), io_timeout: deadline };
        Self {
            context,
            wasi,
            table: ResourceTable::new(),
            http: WasiHttpCtx::new(),
            gate,
            limit,
            log_lines: 0,
            deadline_unix_ms,
            kinds: Vec::new(),
        }
    }

    /// The kinds marked during the call, by channel message id (the last
    /// mark of an id wins).
    pub fn take_kinds(&mut self) -> Vec<(String, InboundKind)> {
        std::mem::take(&mut self.kinds)
    }

    fn mark(&mut self, id: String, kind: InboundKind) {
        self.kinds.retain(|(seen, _)| *seen != id);
        if self.kinds.len() < MAX_KIND_MARKS {
            self.kinds.push((id, kind));
        }
    }
}

impl WasiView for CallState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl WasiHttpView for CallState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView { ctx: &mut self.http, table: &mut self.table, hooks: &mut self.gate }
    }
}

/// Lets a request out only to a host both the manifest and the operator
/// named, and caps its timeouts at the call's I/O deadline.
struct HttpGate {
    context: Arc<PluginContext>,
    io_timeout: Duration,
}

type SendFuture = Box<
    dyn Future<
            Output = wasmtime_wasi_http::Result<(
                http::Response<wasmtime_wasi_http::WasiBody>,
                Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
            )>,
        > + Send,
>;

impl WasiHttpHooks for HttpGate {
    fn send_request(
        &mut self,
        request: http::Request<wasmtime_wasi_http::WasiBody>,
        options: Option<wasmtime_wasi_http::RequestOptions>,
        _fut: Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
    ) -> SendFuture {
        let uri = request.uri();
        let host = uri.host().unwrap_or_default().to_owned();
        let tls = uri.scheme() == Some(&http::uri::Scheme::HTTPS);
        let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
        if !self.context.settings.allows(&host, Some(port)) {
            tracing::warn!(plugin = %self.context.name, host = %host, port, "outbound HTTP refused: host not granted");
            return Box::new(async { Err(wasmtime_wasi_http::Error::HttpRequestDenied) });
        }
        let cap = |asked: Option<Duration>| Some(asked.map_or(self.io_timeout, |d| d.min(self.io_timeout)));
        let options = wasmtime_wasi_http::RequestOptions {
            connect_timeout: cap(options.and_then(|o| o.connect_timeout)),
            first_byte_timeout: cap(options.and_then(|o| o.first_byte_timeout)),
            between_bytes_timeout: cap(options.and_then(|o| o.between_bytes_timeout)),
        };
        Box::new(async move {
            use http_body_util::BodyExt;
            let (response, io) = wasmtime_wasi_http::default_send_request(request, Some(options)).await?;
            Ok((response.map(BodyExt::boxed_unsync), Box::new(io) as Box<dyn Future<Output = _> + Send>))
        })
    }
}

impl types::Host for CallState {}

impl log::Host for CallState {
    fn write(&mut self, level: log::Level, message: String) {
        self.log_lines += 1;
        if self.log_lines > MAX_LOG_LINES_PER_CALL {
            if self.log_lines == MAX_LOG_LINES_PER_CALL + 1 {
                tracing::warn!(plugin = %self.context.name, "plugin log: further lines of this call dropped");
            }
            return;
        }
        let mut message = message;
        if message.len() > MAX_LOG_LINE_BYTES {
            let mut cut = MAX_LOG_LINE_BYTES;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
        }
        let plugin = &self.context.name;
        match level {
            log::Level::Trace => tracing::trace!(plugin = %plugin, "{message}"),
            log::Level::Debug => tracing::debug!(plugin = %plugin, "{message}"),
            log::Level::Info => tracing::info!(plugin = %plugin, "{message}"),
            log::Level::Warn => tracing::warn!(plugin = %plugin, "{message}"),
            log::Level::Error => tracing::error!(plugin = %plugin, "{message}"),
        }
    }
}

impl clock::Host for CallState {
    fn now_unix_ms(&mut self) -> i64 {
        self.context.clock.now().as_millisecond()
    }

    fn now_rfc3339(&mut self) -> String {
        self.context.clock.now().to_string()
    }

    fn deadline_unix_ms(&mut self) -> i64 {
        self.deadline_unix_ms
    }
}

impl message_kinds::Host for CallState {
    fn mark_auto_reply(&mut self, channel_message_id: String, reason: String) {
        let reason: String = reason.chars().take(200).collect();
        self.mark(channel_message_id, InboundKind::AutoReply { reason });
    }

    fn mark_bounce(&mut self, channel_message_id: String, report: message_kinds::BounceReport) {
        // Bounded like the rest of a plugin's output; the report is shown, not parsed.
        let short = |s: String| s.chars().take(1000).collect::<String>();
        let report = BounceReport {
            recipients: report.recipients.into_iter().take(100).map(short).collect(),
            permanent: report.permanent,
            status: report.status.map(short),
            diagnostic: report.diagnostic.map(short),
        };
        self.mark(channel_message_id, InboundKind::Bounce(report));
    }
}

impl config::Host for CallState {
    fn get(&mut self, key: String) -> Option<String> {
        self.context.settings.config.get(&key).cloned()
    }
}

impl kv::Host for CallState {
    fn get(&mut self, key: String) -> Option<Vec<u8>> {
        let store = self.context.store.as_ref()?;
        match store.plugin_state(&self.context.name, &key) {
            Ok(value) => value,
            Err(e) => {
                tracing::warn!(plugin = %self.context.name, error = %e, "plugin kv read failed");
                None
            }
        }
    }

    fn set(&mut self, key: String, value: Vec<u8>) -> Result<(), String> {
        if key.len() > MAX_KV_KEY_BYTES {
            return Err(format!("key is over {MAX_KV_KEY_BYTES} bytes"));
        }
        if value.len() > MAX_KV_VALUE_BYTES {
            return Err(format!("value is over {} KiB", MAX_KV_VALUE_BYTES / 1024));
        }
        self.write_kv(&key, Some(&value))
    }

    fn delete(&mut self, key: String) {
        let _ = self.write_kv(&key, None);
    }
}

impl CallState {
    fn write_kv(&self, key: &str, value: Option<&[u8]>) -> Result<(), String> {
        let Some(store) = self.context.store.as_ref() else {
            return Err("no key-value store outside a server".into());
        };
        let plugin = self.context.name.as_str();
        store.transact(&mut |txn| txn.put_plugin_state(plugin, key, value)).map_err(|e| {
            tracing::warn!(plugin = %plugin, error = %e, "plugin kv write failed");
            format!("storage failed: {e}")
        })
    }
}
