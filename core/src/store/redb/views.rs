//! Saved views on redb: one row per view in [`VIEWS`], found per agent
//! through [`VIEW_INDEX`]. Read the same way by snapshots and by the write
//! transaction, hence generic over the table type.

use redb::ReadableTable;

use super::tables::*;
use crate::domain::ViewId;
use crate::store::{SavedView, StoreError};

/// One view by id.
pub(super) fn view(
    views: &impl ReadableTable<u64, &'static [u8]>,
    id: ViewId,
) -> Result<Option<SavedView>, StoreError> {
    views.get(id.get())?.map(|v| decode("views", id, v.value())).transpose()
}

/// The views `agent` sees, their own and the shared ones, by name (then id).
pub(super) fn views_for(
    index: &impl ReadableTable<(&'static str, u64), ()>,
    views: &impl ReadableTable<u64, &'static [u8]>,
    agent: &str,
) -> Result<Vec<SavedView>, StoreError> {
    let own = view_owner_key(agent);
    let mut ids = Vec::new();
    for key in [own.as_str(), SHARED_VIEWS] {
        for row in index.range((key, 0)..=(key, u64::MAX))? {
            ids.push(row?.0.value().1);
        }
    }
    ids.sort_unstable();
    ids.dedup();
    let mut found = Vec::with_capacity(ids.len());
    for id in ids {
        let view = view(views, ViewId::new(id))?
            .ok_or_else(|| StoreError::Inconsistent(format!("view {id} is indexed but missing")))?;
        found.push(view);
    }
    found.sort_by(|a, b| a.name.to_lowercase().cmp(&b.name.to_lowercase()).then(a.id.cmp(&b.id)));
    Ok(found)
}
