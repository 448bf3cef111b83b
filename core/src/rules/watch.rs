//! Hot reload: watches the scripts directory and reloads it, debounced, when
//! files change. A reload compiles changed files and swaps the set
//! atomically; a file that does not compile keeps its last good version.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use notify::{RecursiveMode, Watcher};

use super::host::RulesHost;
use crate::clock::Clock;

/// Changes closer together than this are reloaded once.
const DEBOUNCE: Duration = Duration::from_millis(150);

/// Keeps the watcher alive; dropping it stops watching.
pub struct ScriptWatcher {
    _watcher: notify::RecommendedWatcher,
}

impl std::fmt::Debug for ScriptWatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ScriptWatcher")
    }
}

/// Starts watching `dir`, reloading `host` on changes.
///
/// # Errors
/// The directory cannot be watched.
pub fn watch(dir: &Path, host: Arc<RulesHost>, clock: Arc<dyn Clock>) -> notify::Result<ScriptWatcher> {
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if event.is_ok_and(|e| e.paths.iter().any(|p| p.extension().is_some_and(|x| x == "rhai"))) {
            let _ = tx.send(());
        }
    })?;
    watcher.watch(dir, RecursiveMode::NonRecursive)?;
    let dir: PathBuf = dir.to_owned();
    std::thread::Builder::new()
        .name("frontdesk-scripts".into())
        .spawn(move || {
            while rx.recv().is_ok() {
                // Let a burst of writes (editor save, git checkout) settle.
                std::thread::sleep(DEBOUNCE);
                while rx.try_recv().is_ok() {}
                if let Err(e) = host.load_dir(&dir, clock.now()) {
                    tracing::error!(dir = %dir.display(), error = %e, "cannot reload scripts");
                }
            }
        })
        .map_err(|e| notify::Error::generic(&e.to_string()))?;
    Ok(ScriptWatcher { _watcher: watcher })
}
