//! Storage errors, the same for every backend: a caller handles a full
//! disk the same whether redb or a database server reports it, so no
//! backend's error type appears here. Each adapter converts its own errors
//! into [`StoreError::Backend`] (redb's: `store/redb/error.rs`).

use std::path::PathBuf;

/// A storage operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another process holds the database.
    #[error("the database {0} is in use by another frontdesk process (stop it first)")]
    InUse(PathBuf),
    /// A stored record does not decode. Records are JSON in every backend,
    /// hence the one decoder's error.
    #[error("record {key} in {table} cannot be decoded")]
    Corrupt {
        /// Table name.
        table: &'static str,
        /// Record key.
        key: String,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
    /// A stored history that does not fold (a bug, never user input).
    #[error("inconsistent history: {0}")]
    Inconsistent(String),
    /// Events that do not fold into their case's row (a bug, never user
    /// input), with the projection's own error.
    #[error("events do not fold into their case")]
    Fold(#[from] crate::domain::projection::ProjectionError),
    /// The batch's transaction was rolled back because of another failure.
    #[error("the write was rolled back: {0}")]
    RolledBack(String),
    /// The backend failed: its file, its connection, its transaction. Boxed,
    /// so the backend's own error (and its chain) reaches the log unchanged
    /// while nothing above the adapter depends on its type.
    #[error("database failure")]
    Backend {
        /// What the backend was doing (`commit`, `open table`, ...), for logs.
        operation: &'static str,
        /// The backend's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The file system failed.
    #[error("i/o failure on {path}")]
    Io {
        /// The path involved.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

impl StoreError {
    /// A backend failure during `operation`; what adapters convert their
    /// errors with.
    pub fn backend(operation: &'static str, source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        StoreError::Backend { operation, source: source.into() }
    }
}
