//! Rows decoded recently, each kept with the stored bytes it was decoded
//! from. A row read again with the same bytes is cloned instead of decoded:
//! cloning costs a fraction of decoding (BENCHMARKS.md, "row cache"), a
//! listing that agents refresh reads the same rows over and over, and the
//! writer reads the rows a rule plan has just read. Comparing the bytes each
//! reader read in its own snapshot (or the writer in its transaction) makes a
//! stale entry impossible: a changed row has changed bytes. For the same
//! reason the writer can keep each row it writes, before its commit: bytes
//! that never commit are never read back, so their entry is never returned.
//! Two versions of each row are kept: a reader's snapshot is often one commit
//! behind the row the writer has just kept, and with one version the two
//! took turns decoding it.

use std::marker::PhantomData;
use std::num::NonZeroUsize;
use std::sync::Mutex;

use lru::LruCache;
use redb::ReadableTable;
use serde::de::DeserializeOwned;

use super::tables::decode;
use crate::store::StoreError;

/// Rows kept per table: a few pages of every busy listing.
const KEPT: NonZeroUsize = NonZeroUsize::new(4096).expect("non-zero");

/// Stored bytes and what they decode to. A `Vec`, so that the writer's
/// freshly encoded row moves in without a copy.
type Row<T> = (Vec<u8>, T);

/// The two versions of a row put last.
#[derive(Debug)]
struct Versions<T> {
    last: Row<T>,
    before: Option<Row<T>>,
}

impl<T> Versions<T> {
    fn find(&self, bytes: &[u8]) -> Option<&T> {
        std::iter::once(&self.last).chain(&self.before).find(|(seen, _)| seen.as_slice() == bytes).map(|(_, row)| row)
    }
}

/// Row id -> its last two versions.
type Kept<T> = LruCache<u64, Versions<T>>;

/// Decoded rows of one table, by id. A row of type `T` is stored as the
/// record `R` (a case as its [`crate::store::CaseRecord`]); most rows are
/// their own record.
#[derive(Debug)]
pub(super) struct DecodedRows<T, R = T> {
    table: &'static str,
    rows: Mutex<Kept<T>>,
    record: PhantomData<fn() -> R>,
}

impl<T: Clone, R: DeserializeOwned + Into<T>> DecodedRows<T, R> {
    /// An empty cache for rows of `table` (named in decoding errors).
    pub fn new(table: &'static str) -> Self {
        Self { table, rows: Mutex::new(LruCache::new(KEPT)), record: PhantomData }
    }

    /// `bytes` decoded as a record and made a row.
    fn decode_row(&self, id: u64, bytes: &[u8]) -> Result<T, StoreError> {
        decode::<R>(self.table, id, bytes).map(Into::into)
    }

    /// The row stored under `id` in `table` (of this cache's kind), if any.
    ///
    /// # Errors
    /// Storage failures, and [`StoreError::Corrupt`] for a row that does not decode.
    pub fn read(&self, table: &impl ReadableTable<u64, &'static [u8]>, id: u64) -> Result<Option<T>, StoreError> {
        table.get(id)?.map(|v| self.decode(id, v.value())).transpose()
    }

    /// The row stored as `bytes` under `id`: the kept copy if it was decoded
    /// from the same bytes, else freshly decoded (and kept).
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] when `bytes` do not decode.
    fn decode(&self, id: u64, bytes: &[u8]) -> Result<T, StoreError> {
        if let Some(row) = self.lock().get(&id).and_then(|versions| versions.find(bytes)) {
            return Ok(row.clone());
        }
        let row = self.decode_row(id, bytes)?;
        self.put(id, (bytes.into(), row.clone()));
        Ok(row)
    }

    /// Keeps `row` beside the version put last, which the one before gives way to.
    fn put(&self, id: u64, row: Row<T>) {
        let mut rows = self.lock();
        match rows.get_mut(&id) {
            Some(versions) => versions.before = Some(std::mem::replace(&mut versions.last, row)),
            None => {
                rows.put(id, Versions { last: row, before: None });
            }
        }
    }

    /// Keeps `row` as what `bytes`, just written under `id`, decode to, so
    /// that the next reader of the row clones it instead of decoding it.
    pub fn keep(&self, id: u64, bytes: Vec<u8>, row: T)
    where
        T: PartialEq + std::fmt::Debug,
    {
        // Every test build checks the round trip this relies on.
        debug_assert_eq!(self.decode_row(id, &bytes).ok().as_ref(), Some(&row), "a kept row decodes to itself");
        self.put(id, (bytes, row));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Kept<T>> {
        self.rows.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_row_is_decoded_again() {
        let rows = DecodedRows::<Vec<u32>>::new("test");
        assert_eq!(rows.decode(1, b"[1,2]").unwrap(), [1, 2]);
        assert_eq!(rows.decode(1, b"[1,2]").unwrap(), [1, 2]);
        assert_eq!(rows.decode(1, b"[3]").unwrap(), [3], "new bytes, new row");
        assert_eq!(rows.decode(2, b"[1,2]").unwrap(), [1, 2]);
        assert!(matches!(rows.decode(3, b"[oops"), Err(StoreError::Corrupt { .. })));
        assert_eq!(rows.decode(1, b"[3]").unwrap(), [3]);
    }

    #[test]
    fn a_kept_row_is_returned_only_for_its_own_bytes() {
        let rows = DecodedRows::<Vec<u32>>::new("test");
        rows.keep(1, b"[7]".to_vec(), vec![7]);
        assert_eq!(rows.decode(1, b"[7]").unwrap(), [7]);
        rows.keep(1, b"[8]".to_vec(), vec![8]);
        assert_eq!(rows.decode(1, b"[7]").unwrap(), [7], "the version before, for a reader one commit behind");
        assert_eq!(rows.decode(1, b"[8]").unwrap(), [8]);
        rows.keep(1, b"[9]".to_vec(), vec![9]);
        assert_eq!(rows.decode(1, b"[9]").unwrap(), [9]);
        assert_eq!(rows.decode(1, b"[7]").unwrap(), [7], "older bytes than both: decoded");
        assert_eq!(rows.decode(1, b"[4]").unwrap(), [4], "bytes never kept: decoded");
    }
}
