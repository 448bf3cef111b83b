//! Plugin call and start-up costs: a fresh instance from the pre-linked
//! template plus a trivial call, and loading a plugin with the compiled
//! cache cold and warm. Builds `tests/plugins/steady` for wasm32-wasip2 first.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use frontdesk_core::SystemClock;
use frontdesk_core::plugins::{HostOptions, Origin, PluginHost, PluginSource, v0_1};

fn steady() -> (String, Vec<u8>) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf();
    let target = root.join("target/wasm-bench-plugins");
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .current_dir(&root)
        .args(["build", "--release", "--target", "wasm32-wasip2", "-p", "frontdesk-test-plugin-steady", "--target-dir"])
        .arg(&target)
        .status()
        .expect("cargo runs");
    assert!(status.success(), "building the steady test plugin failed");
    let manifest = std::fs::read_to_string(root.join("tests/plugins/steady/plugin.toml")).unwrap();
    let wasm = std::fs::read(target.join("wasm32-wasip2/release/frontdesk_test_plugin_steady.wasm")).unwrap();
    (manifest, wasm)
}

fn source(manifest: &str, wasm: &[u8]) -> PluginSource {
    PluginSource {
        dir_name: "steady".into(),
        origin: Origin::Embedded,
        manifest: Ok(manifest.to_owned()),
        wasm: Ok(wasm.to_vec()),
    }
}

fn options(cache: Option<PathBuf>) -> HostOptions {
    let mut options = HostOptions::new(Arc::new(SystemClock), None);
    options.cache_dir = cache;
    options
}

fn bench(c: &mut Criterion) {
    let (manifest, wasm) = steady();
    let host = PluginHost::load(vec![source(&manifest, &wasm)], &BTreeMap::new(), &options(None)).unwrap();
    let customer = v0_1::Customer { id: "1".into(), name: None, tier: None, identities: vec![], attributes: vec![] };
    let signals = [v0_1::Signal { name: "score".into(), value: 70.0 }];
    c.bench_function("plugin: instantiate from pre + score call", |b| {
        b.iter(|| host.score("steady", &customer, &signals).unwrap())
    });

    let mut group = c.benchmark_group("plugin start-up");
    group.sample_size(10);
    group.bench_function("load, cache cold (compile)", |b| {
        b.iter(|| {
            let cache = tempfile::tempdir().unwrap();
            PluginHost::load(vec![source(&manifest, &wasm)], &BTreeMap::new(), &options(Some(cache.path().into())))
                .unwrap()
        })
    });
    let warm = tempfile::tempdir().unwrap();
    PluginHost::load(vec![source(&manifest, &wasm)], &BTreeMap::new(), &options(Some(warm.path().into()))).unwrap();
    group.bench_function("load, cache warm (deserialize)", |b| {
        b.iter(|| {
            PluginHost::load(vec![source(&manifest, &wasm)], &BTreeMap::new(), &options(Some(warm.path().into())))
                .unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
