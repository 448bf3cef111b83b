//! The rows the writer committed most recently, kept decoded. The writer is
//! the only one that writes, so a kept row is exactly the stored one; the
//! next batch that touches a recent case or a returning customer takes it
//! from here instead of reading and decoding it again. Only committed rows
//! enter, so a failed transaction leaves nothing behind.

use std::num::NonZeroUsize;

use lru::LruCache;

use crate::domain::{Case, Customer};
use crate::sla::CaseSla;

/// How many rows of each kind are kept: a few thousand recent cases and
/// customers, some megabytes in all.
const KEPT_PER_KIND: NonZeroUsize = NonZeroUsize::new(4096).expect("non-zero");

/// Recently committed case, SLA state and customer rows, by id.
#[derive(Debug)]
pub(super) struct CommittedRows {
    cases: LruCache<u64, Case>,
    slas: LruCache<u64, CaseSla>,
    customers: LruCache<u64, Customer>,
}

/// The rows one transaction wrote, each in its final form.
#[derive(Debug, Default)]
pub(super) struct WrittenRows {
    pub cases: Vec<Case>,
    pub slas: Vec<(u64, CaseSla)>,
    pub customers: Vec<Customer>,
}

impl Default for CommittedRows {
    fn default() -> Self {
        Self {
            cases: LruCache::new(KEPT_PER_KIND),
            slas: LruCache::new(KEPT_PER_KIND),
            customers: LruCache::new(KEPT_PER_KIND),
        }
    }
}

impl CommittedRows {
    /// A committed case row, if kept.
    pub fn case(&self, id: u64) -> Option<&Case> {
        self.cases.peek(&id)
    }

    /// A committed SLA state row, if kept.
    pub fn sla(&self, id: u64) -> Option<&CaseSla> {
        self.slas.peek(&id)
    }

    /// A committed customer row, if kept.
    pub fn customer(&self, id: u64) -> Option<&Customer> {
        self.customers.peek(&id)
    }

    /// Keeps what a transaction wrote, once its commit succeeded.
    pub fn committed(&mut self, written: WrittenRows) {
        for case in written.cases {
            self.cases.put(case.id.get(), case);
        }
        for (id, sla) in written.slas {
            self.slas.put(id, sla);
        }
        for customer in written.customers {
            self.customers.put(customer.id.get(), customer);
        }
    }
}
