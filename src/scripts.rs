//! Where the rules come from: a scripts directory (watched and hot-reloaded),
//! or, when none is given and `./scripts` does not exist, the default rule set
//! embedded in the binary.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use frontdesk_core::Clock;
use frontdesk_core::rules::RulesHost;
use frontdesk_core::rules::watch::{ScriptWatcher, watch};

/// The default rule set, as shipped in `scripts/`.
pub const EMBEDDED: &[(&str, &str)] = &[
    ("10-triage.rhai", include_str!("../scripts/10-triage.rhai")),
    ("20-routing.rhai", include_str!("../scripts/20-routing.rhai")),
    ("30-escalation.rhai", include_str!("../scripts/30-escalation.rhai")),
    ("40-outreach.rhai", include_str!("../scripts/40-outreach.rhai")),
];

/// Where to load rules from.
#[derive(Debug, Clone)]
pub enum ScriptSource {
    /// A directory, watched for changes.
    Dir(PathBuf),
    /// The embedded defaults.
    Embedded,
}

impl ScriptSource {
    /// `--scripts-dir` if given; else `./scripts` if it exists; else the
    /// embedded defaults.
    pub fn choose(dir: Option<&Path>) -> Self {
        match dir {
            Some(dir) => ScriptSource::Dir(dir.to_owned()),
            None if Path::new("scripts").is_dir() => ScriptSource::Dir(PathBuf::from("scripts")),
            None => ScriptSource::Embedded,
        }
    }

    /// Loads the rules into `host`; for a directory, starts watching it.
    ///
    /// # Errors
    /// A directory that cannot be read or watched.
    pub fn load(&self, host: &Arc<RulesHost>, clock: Arc<dyn Clock>) -> anyhow::Result<Option<ScriptWatcher>> {
        match self {
            ScriptSource::Embedded => {
                for (name, source) in EMBEDDED {
                    host.update(name, Some(source), clock.now());
                }
                tracing::info!(files = EMBEDDED.len(), "loaded the embedded default rules");
                Ok(None)
            }
            ScriptSource::Dir(dir) => {
                host.load_dir(dir, clock.now())
                    .with_context(|| format!("cannot read scripts directory {}", dir.display()))?;
                let watcher =
                    watch(dir, host.clone(), clock).with_context(|| format!("cannot watch {}", dir.display()))?;
                tracing::info!(dir = %dir.display(), "rules loaded; watching for changes");
                Ok(Some(watcher))
            }
        }
    }
}
