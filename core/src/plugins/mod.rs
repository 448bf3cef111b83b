//! Plugins: WebAssembly components in wasmtime, sandboxed per call. The
//! contract is the WIT in `plugin-sdk/wit/`; [`host::PluginHost`] loads
//! plugins from their manifests and calls them under a deadline, a memory
//! cap and a circuit breaker.

pub mod bindings;
pub mod breaker;
pub mod host;
pub mod limits;
pub mod manifest;
pub mod runtime;
pub mod settings;
pub mod state;
pub mod validate;

pub use bindings::v0_1;
pub use host::{CallError, CallReport, FailureKind, HostOptions, Origin, PluginHost, PluginSource, PluginStatus};
pub use manifest::{Kind, Manifest};
