//! `membomb`: a health plugin that allocates memory until it runs out.
//!
//! What it does to the host: each `score` grows the instance's memory 1 MiB
//! at a time, writing to every 4 KiB page so that the memory is really used,
//! and never frees it. The host's per-instance memory limit must refuse the
//! growth; the allocation failure then aborts the call with a trap.

use frontdesk_plugin_sdk::health::{Customer, Guest, Health, PluginError, Signal};

const CHUNK: usize = 1 << 20;
const PAGE: usize = 4096;

struct Membomb;

impl Guest for Membomb {
    fn score(_customer: Customer, _signals: Vec<Signal>) -> Result<Health, PluginError> {
        let mut hoard: Vec<Vec<u8>> = Vec::new();
        loop {
            let mut chunk = vec![0u8; CHUNK];
            for page in chunk.chunks_mut(PAGE) {
                page[0] = 1;
            }
            hoard.push(std::hint::black_box(chunk));
        }
    }
}

frontdesk_plugin_sdk::export_health!(Membomb);
