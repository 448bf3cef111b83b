//! Builds the first-party plugins (`plugins/*`) for `wasm32-wasip2` and
//! embeds them, with their manifests, in the `frontdesk` binary, so that
//! `cargo build` alone gives a server that runs them. The plugins build in a
//! target directory of their own, beside this build's.

use std::path::{Path, PathBuf};
use std::process::Command;

const WASM_TARGET: &str = "wasm32-wasip2";

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    println!("cargo:rerun-if-changed=plugins");
    println!("cargo:rerun-if-changed=plugin-sdk/src");
    println!("cargo:rerun-if-changed=plugin-sdk/wit");
    println!("cargo:rerun-if-changed=plugin-sdk/Cargo.toml");

    let plugins = plugin_crates(&root.join("plugins"));
    for (_, dir, _) in &plugins {
        println!("cargo:rerun-if-changed={}", dir.display());
    }
    // `target/<profile>/build/frontdesk-*/out` -> `target/<profile>/wasm-plugins`.
    let target_dir = out.ancestors().nth(3).map_or_else(|| out.join("wasm-plugins"), |p| p.join("wasm-plugins"));
    if !plugins.is_empty() {
        ensure_wasm_target();
        build(&root, &target_dir, &plugins);
    }

    let mut code = String::from("/// First-party plugins: (folder name, plugin.toml, component).\n");
    code.push_str("pub const EMBEDDED: &[(&str, &str, &[u8])] = &[\n");
    for (name, dir, package) in &plugins {
        let wasm = target_dir.join(WASM_TARGET).join("release").join(format!("{}.wasm", package.replace('-', "_")));
        assert!(wasm.exists(), "the build of plugin {name} left no component at {}", wasm.display());
        code.push_str(&format!(
            "    ({name:?}, include_str!({:?}), include_bytes!({:?})),\n",
            dir.join("plugin.toml").display().to_string(),
            wasm.display().to_string()
        ));
    }
    code.push_str("];\n");
    std::fs::write(out.join("embedded_plugins.rs"), code).expect("OUT_DIR is writable");
}

/// `(folder name, folder, package name)` of every plugin crate.
fn plugin_crates(dir: &Path) -> Vec<(String, PathBuf, String)> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut found: Vec<(String, PathBuf, String)> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.join("plugin.toml").exists() && p.join("Cargo.toml").exists())
        .map(|p| {
            let manifest = std::fs::read_to_string(p.join("Cargo.toml")).expect("a plugin's Cargo.toml is readable");
            let package = manifest
                .lines()
                .find_map(|l| {
                    l.trim()
                        .strip_prefix("name")
                        .map(|rest| rest.trim_start_matches([' ', '=']).trim_matches('"').to_owned())
                })
                .expect("a plugin's Cargo.toml names its package");
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            (name, p, package)
        })
        .collect();
    found.sort();
    found
}

/// Installs the wasm target through rustup when it is missing, so a fresh
/// machine with only the toolchain builds; without rustup, the build below
/// fails with the command to run.
fn ensure_wasm_target() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let Ok(output) = Command::new(rustc).args(["--print", "sysroot"]).output() else { return };
    let sysroot = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
    if sysroot.join("lib/rustlib").join(WASM_TARGET).exists() {
        return;
    }
    println!("cargo:warning=installing the {WASM_TARGET} target with rustup (the first-party plugins need it)");
    let _ = Command::new("rustup").args(["target", "add", WASM_TARGET]).status();
}

fn build(root: &Path, target_dir: &Path, plugins: &[(String, PathBuf, String)]) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command.current_dir(root).args(["build", "--release", "--target", WASM_TARGET, "--target-dir"]).arg(target_dir);
    for (_, _, package) in plugins {
        command.args(["-p", package]);
    }
    // What the outer build set for the host must not leak into the guests.
    for var in
        ["RUSTFLAGS", "CARGO_ENCODED_RUSTFLAGS", "CARGO_BUILD_TARGET", "CARGO_TARGET_DIR", "RUSTC_WORKSPACE_WRAPPER"]
    {
        command.env_remove(var);
    }
    let output = command.output().expect("cargo runs");
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        if stderr.contains(WASM_TARGET)
            && (stderr.contains("may not be installed") || stderr.contains("can't find crate"))
        {
            panic!(
                "the {WASM_TARGET} target is not installed; the first-party plugins need it.\n\
                 Run: rustup target add {WASM_TARGET}\n\n{stderr}"
            );
        }
        panic!("building the first-party plugins for {WASM_TARGET} failed:\n{stderr}");
    }
}
