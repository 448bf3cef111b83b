//! Records the store keeps besides the domain's own rows: idempotent
//! answers and outbox items. Their JSON is the file format, so a field is
//! renamed only with a migration.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::domain::{Case, CaseId, CustomerId};
use crate::sla::CaseSla;

/// What the store keeps for an idempotency key: enough to answer a retry
/// as the first request was answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdempotencyRecord {
    /// Fingerprint of the first request.
    pub request_hash: String,
    /// When the key was first used.
    pub created_at: Timestamp,
    /// The first answer.
    #[serde(flatten)]
    pub answer: IdempotentAnswer,
}

/// The first answer to an idempotent create.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum IdempotentAnswer {
    /// The case as the create left it, rules included; the caller renders it.
    Created {
        /// The case.
        case: Box<Case>,
        /// Its SLA state.
        sla: Box<CaseSla>,
    },
    /// Records written before answers were kept as data: the HTTP status
    /// and body, verbatim.
    Rendered {
        /// HTTP status.
        status: u16,
        /// JSON text.
        body: String,
    },
}

/// Outbound work waiting for delivery, written in the same transaction as
/// the command that caused it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxItem {
    /// Id.
    pub id: u64,
    /// `notify`, `deliver`, `crm_sync`, ...
    pub kind: String,
    /// Who or where.
    pub target: String,
    /// What, as JSON.
    pub payload: serde_json::Value,
    /// The case it belongs to, if any.
    pub case_id: Option<CaseId>,
    /// When it was queued.
    pub created_at: Timestamp,
    /// Delivery attempts so far.
    pub attempts: u32,
    /// When to try next.
    pub next_try_at: Timestamp,
    /// `pending` or `failed` (delivered items are removed).
    pub status: String,
    /// The customer it concerns.
    #[serde(default)]
    pub customer_id: Option<CustomerId>,
    /// The last attempt's error.
    #[serde(default)]
    pub last_error: Option<String>,
}
