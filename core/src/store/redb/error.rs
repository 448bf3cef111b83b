//! redb's errors as [`StoreError::Backend`]. The conversions live here, not
//! beside [`StoreError`], so that only this adapter knows redb; they are
//! `From` impls so that the adapter's many `?` stay as they are. Each error
//! is first made a [`redb::Error`], as before the error was backend-neutral,
//! so its message and chain in the log read the same.

use crate::store::StoreError;

macro_rules! from_redb {
    ($($t:ty => $operation:literal),* $(,)?) => {$(
        impl From<$t> for StoreError {
            fn from(e: $t) -> Self {
                StoreError::backend($operation, redb::Error::from(e))
            }
        }
    )*};
}

from_redb!(
    redb::Error => "redb",
    redb::DatabaseError => "open database",
    redb::TransactionError => "begin transaction",
    redb::TableError => "open table",
    redb::StorageError => "read or write",
    redb::CommitError => "commit",
);

#[cfg(test)]
mod tests {
    use std::error::Error;

    use super::*;

    /// Users see the same message as when the variant held a `redb::Error`,
    /// and the log the same chain below it.
    #[test]
    fn a_redb_error_reads_as_before() {
        let error = StoreError::from(redb::CommitError::Storage(redb::StorageError::ValueTooLarge(7)));
        assert_eq!(error.to_string(), "database failure");
        assert!(matches!(error, StoreError::Backend { operation: "commit", .. }));
        let source = error.source().expect("the redb error");
        let before = redb::Error::from(redb::StorageError::ValueTooLarge(7));
        assert_eq!(source.to_string(), before.to_string());
        assert!(source.downcast_ref::<redb::Error>().is_some());
    }
}
