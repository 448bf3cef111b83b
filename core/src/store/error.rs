//! Storage errors.

use std::path::PathBuf;

/// A storage operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another process holds the database.
    #[error("the database {0} is in use by another frontdesk process (stop it first)")]
    InUse(PathBuf),
    /// A stored record does not decode.
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
    /// The batch's transaction was rolled back because of another failure.
    #[error("the write was rolled back: {0}")]
    RolledBack(String),
    /// The database failed.
    #[error("database failure")]
    Db(#[source] redb::Error),
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

macro_rules! from_redb {
    ($($t:ty),*) => {$(
        impl From<$t> for StoreError {
            fn from(e: $t) -> Self {
                StoreError::Db(e.into())
            }
        }
    )*};
}

from_redb!(
    redb::Error,
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);
