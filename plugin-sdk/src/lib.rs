//! The Frontdesk plugin SDK: the WIT contract (`wit/`, one frozen folder per
//! released version) and Rust helpers for plugin authors. The contract is not
//! released yet; this crate reserves its place in the workspace.
