//! Case bodies rendered recently, each kept with the case and SLA state it was
//! rendered from. Serializing a case with its SLA was the largest part of
//! the HTTP side's instructions under the mixed load (BENCHMARKS.md, eighth
//! pass), and most of it repeats: a write's answer renders the case, the agent's next read renders
//! the same state, and a listing that agents refresh renders the same twenty
//! cases again. A body is reused only for values equal to those it was
//! rendered from, so it cannot be stale, and comparing costs a small part of
//! rendering.

use std::num::NonZeroUsize;
use std::sync::Mutex;

use crate::http::case_body::CaseBody;
use axum::body::Bytes;
use frontdesk_core::sla::CaseSla;
use frontdesk_core::{Case, CaseId};
use lru::LruCache;

/// Views kept: the cases of several busy listings and every connection's
/// current case. Each holds its case, SLA state and JSON (several KiB), and
/// RSS after a million cases must stay under 300 MiB, so fewer than the row
/// cache keeps.
const KEPT: NonZeroUsize = NonZeroUsize::new(1024).expect("non-zero");

struct Rendered {
    case: Case,
    sla: CaseSla,
    json: Bytes,
}

/// The JSON of case bodies (`CaseBody`), by case id.
pub struct RenderedCases {
    bodies: Mutex<LruCache<CaseId, Rendered>>,
}

impl Default for RenderedCases {
    fn default() -> Self {
        Self { bodies: Mutex::new(LruCache::new(KEPT)) }
    }
}

impl std::fmt::Debug for RenderedCases {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RenderedCases").finish_non_exhaustive()
    }
}

impl RenderedCases {
    /// The JSON of `case` with `sla`, as `CaseBody` serializes it: the kept
    /// copy if it was rendered from equal values, else rendered (and kept).
    pub fn render(&self, case: Case, sla: CaseSla) -> Bytes {
        if let Some(kept) = self.lock().get(&case.id)
            && kept.case == case
            && kept.sla == sla
        {
            return kept.json.clone();
        }
        let json = Bytes::from(serde_json::to_vec(&CaseBody::new(&case, &sla)).expect("case bodies serialize"));
        self.lock().put(case.id, Rendered { case, sla, json: json.clone() });
        json
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LruCache<CaseId, Rendered>> {
        self.bodies.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use frontdesk_core::{CaseStatus, CustomerId};
    use serde_json::json;

    use super::*;

    fn case() -> Case {
        serde_json::from_value(json!({
            "id": "7", "subject": "Printer", "status": "open", "priority": "high", "channel": "api", "customer_id": "1",
            "team": null, "assignee": null, "tags": [], "fields": {}, "created_at": "2026-01-01T00:00:00Z",
            "updated_at": "2026-01-01T00:00:00Z", "first_response_at": null, "solved_at": null, "closed_at": null,
            "reopen_count": 0, "csat": null, "linked_case_ids": [], "version": 1, "last_event_id": "1"
        }))
        .unwrap()
    }

    fn direct(case: &Case, sla: &CaseSla) -> Vec<u8> {
        serde_json::to_vec(&CaseBody::new(case, sla)).unwrap()
    }

    #[test]
    fn a_body_is_reused_only_for_equal_values() {
        let bodies = RenderedCases::default();
        let sla = CaseSla::default();
        let first = bodies.render(case(), sla.clone());
        assert_eq!(first, direct(&case(), &sla));
        assert_eq!(bodies.render(case(), sla.clone()), first);

        let mut moved = case();
        moved.status = CaseStatus::Pending;
        assert_eq!(bodies.render(moved.clone(), sla.clone()), direct(&moved, &sla), "a changed case renders again");

        let mut timed = sla.clone();
        timed.policy = Some("urgent".into());
        assert_eq!(bodies.render(moved.clone(), timed.clone()), direct(&moved, &timed), "so does a changed SLA");

        let mut other = case();
        other.id = CaseId::new(8);
        other.customer_id = CustomerId::new(2);
        assert_eq!(bodies.render(other.clone(), sla.clone()), direct(&other, &sla));
        assert_eq!(bodies.render(moved.clone(), timed.clone()), direct(&moved, &timed), "ids do not mix");
    }
}
