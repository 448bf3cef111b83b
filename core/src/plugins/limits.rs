//! Memory limits per plugin instance, with the peak kept for reporting.

use wasmtime::ResourceLimiter;

/// Caps linear memory and tables of one instance; a grow past the cap traps
/// with an error naming the limit (rather than the guest's own opaque abort).
#[derive(Debug, Clone)]
pub struct MemoryLimit {
    max_bytes: usize,
    peak_bytes: usize,
}

/// The error a grow past the cap ends the call with.
#[derive(Debug, thiserror::Error)]
#[error("memory limit of {limit_mib} MiB reached (asked for {asked} bytes)")]
pub struct MemoryLimitHit {
    /// The cap.
    pub limit_mib: usize,
    /// What the guest asked for.
    pub asked: usize,
}

/// Most table elements an instance may have.
const MAX_TABLE_ELEMENTS: usize = 100_000;

impl MemoryLimit {
    /// A limit of `max_bytes`.
    pub fn new(max_bytes: usize) -> Self {
        Self { max_bytes, peak_bytes: 0 }
    }

    /// The most memory the instance had at once.
    pub fn peak_bytes(&self) -> usize {
        self.peak_bytes
    }
}

impl ResourceLimiter for MemoryLimit {
    fn memory_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        if desired > self.max_bytes {
            return Err(MemoryLimitHit { limit_mib: self.max_bytes >> 20, asked: desired }.into());
        }
        self.peak_bytes = self.peak_bytes.max(desired);
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }
}
