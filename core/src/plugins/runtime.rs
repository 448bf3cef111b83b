//! The wasmtime engine plugins run on: epoch deadlines ticked by a thread,
//! a pooling allocator sized explicitly (allocation on demand where the
//! pool's address space cannot be reserved), and compiled components cached on
//! disk by content hash so a restart skips compilation.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use wasmtime::component::Component;
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// How often the epoch advances; deadlines are counted in these.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);
/// Most plugin instances alive at once (calls run one instance each).
const POOL_INSTANCES: u32 = 128;

/// How the engine is built.
#[derive(Debug, Clone, Copy)]
pub struct RuntimeOptions {
    /// The largest memory any plugin may be granted.
    pub max_memory_bytes: usize,
    /// Count fuel as well (for `plugins run`, which reports it). Costs speed.
    pub count_fuel: bool,
}

/// The engine and its epoch ticker.
#[derive(Clone)]
pub struct Runtime {
    engine: Engine,
    count_fuel: bool,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime").finish_non_exhaustive()
    }
}

/// Where a compiled component came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Compiled {
    /// Compiled now (and written to the cache).
    Fresh,
    /// Loaded from the cache.
    Cached,
}

impl Runtime {
    /// Builds the engine and starts the epoch ticker, which stops when the
    /// last clone of the engine is dropped.
    ///
    /// # Errors
    /// wasmtime refusing the configuration.
    pub fn new(options: RuntimeOptions) -> wasmtime::Result<Self> {
        let mut config = Config::new();
        config.wasm_component_model(true);
        config.epoch_interruption(true);
        config.consume_fuel(options.count_fuel);
        let memory = options.max_memory_bytes.max(1 << 20);
        let mut pool = PoolingAllocationConfig::default();
        pool.total_component_instances(POOL_INSTANCES)
            .total_core_instances(POOL_INSTANCES * 8)
            .total_memories(POOL_INSTANCES * 2)
            .total_tables(POOL_INSTANCES * 4)
            .max_memory_size(memory);
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        let engine = match Engine::new(&config) {
            Ok(engine) => engine,
            Err(e) => {
                // The pool reserves address space for every slot up front
                // (about 4 GiB each); under `ulimit -v` or valgrind that
                // fails. Instances allocated per call keep the per-call memory
                // limit (the store's limiter), only not the instance cap.
                tracing::warn!(error = %e, "plugin instance pool unavailable; allocating instances on demand");
                config.allocation_strategy(InstanceAllocationStrategy::OnDemand);
                Engine::new(&config)?
            }
        };
        let weak = engine.weak();
        std::thread::Builder::new().name("plugin-epoch".into()).spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(EPOCH_TICK);
            }
        })?;
        Ok(Self { engine, count_fuel: options.count_fuel })
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Whether fuel is counted.
    pub fn counts_fuel(&self) -> bool {
        self.count_fuel
    }

    /// Epoch ticks for a deadline, rounded up, plus one for the tick in progress.
    pub fn ticks(deadline: Duration) -> u64 {
        deadline.as_nanos().div_ceil(EPOCH_TICK.as_nanos()) as u64 + 1
    }

    /// Compiles `wasm`, or loads it from `cache_dir` when it was compiled
    /// before with this engine's settings.
    ///
    /// # Errors
    /// Bytes that are not a valid component.
    pub fn load(&self, wasm: &[u8], cache_dir: Option<&Path>) -> wasmtime::Result<(Component, Compiled, Duration)> {
        let started = Instant::now();
        let Some(dir) = cache_dir else {
            return Ok((Component::new(&self.engine, wasm)?, Compiled::Fresh, started.elapsed()));
        };
        let path = self.cache_path(dir, wasm);
        if path.exists() {
            // SAFETY: the file is one this process (or an earlier one) wrote
            // from `Component::serialize` into the server's own data
            // directory, named by the hash of the source and of the engine's
            // settings. wasmtime also checks its header before using it.
            match unsafe { Component::deserialize_file(&self.engine, &path) } {
                Ok(component) => return Ok((component, Compiled::Cached, started.elapsed())),
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "plugin cache entry unusable; recompiling")
                }
            }
        }
        let component = Component::new(&self.engine, wasm)?;
        if let Err(e) = write_atomically(&path, &component.serialize()?) {
            tracing::warn!(path = %path.display(), error = %e, "could not write the plugin cache");
        }
        Ok((component, Compiled::Fresh, started.elapsed()))
    }

    fn cache_path(&self, dir: &Path, wasm: &[u8]) -> PathBuf {
        let mut hash = Sha256::new();
        hash.update(wasm);
        self.engine.precompile_compatibility_hash().hash(&mut HashWriter(&mut hash));
        dir.join(format!("{}.cwasm", hex::encode(hash.finalize())))
    }
}

/// Feeds `Hash` output into a SHA-256.
struct HashWriter<'a>(&'a mut Sha256);

impl std::hash::Hasher for HashWriter<'_> {
    fn finish(&self) -> u64 {
        0
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

use std::hash::Hash;

fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

/// Shared handle type.
pub type SharedRuntime = Arc<Runtime>;
