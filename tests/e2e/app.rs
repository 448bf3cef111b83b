//! Runs the server in this process, on a [`ManualClock`], so tests of time
//! (SLA deadlines, auto-close, outreach on tick) move the clock instead of
//! waiting for it. Everything else is as in production: `frontdesk::run` with
//! the config text a test gives, a redb file and a scripts directory in a temp
//! directory, real HTTP on `127.0.0.1:0`. What needs the real process
//! (startup errors, signals, `kill -9`, the CLI, plugin loading) stays with
//! [`crate::harness::Server`].

use std::ops::Deref;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use frontdesk::config::FileConfig;
use frontdesk::scripts::ScriptSource;
use frontdesk_core::ManualClock;
use jiff::SignedDuration;
use tokio::sync::oneshot;

use crate::harness::{Api, workdir};

/// Where a test's clock starts unless it says otherwise: a Monday morning.
pub const START: &str = "2026-03-02T09:00:00Z";

/// A server running in this process on its own runtime thread. Dropping it
/// shuts the server down and waits until it has stopped.
pub struct TestApp {
    api: Api,
    /// The server's clock; [`TestApp::advance`] moves it.
    pub clock: ManualClock,
    dir: tempfile::TempDir,
    running: Option<Running>,
}

/// The server thread and the sender that stops it.
struct Running {
    stop: oneshot::Sender<()>,
    thread: std::thread::JoinHandle<anyhow::Result<()>>,
}

impl TestApp {
    /// Starts a server with `config` (TOML) in a new temp directory, its
    /// clock at [`START`], with no rules (as [`crate::harness::Server`]).
    pub fn start_with(config: &str) -> TestApp {
        Self::start_in(workdir(), config)
    }

    /// Starts a server with `config` in `dir`, which the test may have
    /// prepared (rules in `dir/scripts`); data goes to `dir/data`.
    pub fn start_in(dir: tempfile::TempDir, config: &str) -> TestApp {
        std::fs::write(dir.path().join("frontdesk.toml"), config).expect("write config");
        std::fs::create_dir_all(dir.path().join("scripts")).expect("scripts dir");
        let clock = ManualClock::new(START.parse().expect("start time"));
        let (running, base) = launch(dir.path(), &clock);
        let token = std::fs::read_to_string(dir.path().join("data/admin.token")).expect("admin token");
        TestApp { api: Api::new(base, token.trim().to_owned()), clock, dir, running: Some(running) }
    }

    /// The test's directory (config, `scripts/`, `data/`).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Moves the server's clock forward by `by`; the timer scheduler and the
    /// rule ticker wake at once to look at the new time.
    pub fn advance(&self, by: SignedDuration) {
        self.clock.advance(by);
    }

    /// Stops the server, moves the clock by `down` while it is stopped, and
    /// starts it again on the same data, config and scripts.
    pub fn restart_after(&mut self, down: SignedDuration) {
        self.stop();
        self.advance(down);
        let (running, base) = launch(self.dir.path(), &self.clock);
        self.api = Api::new(base, self.api.token.clone());
        self.running = Some(running);
    }

    fn stop(&mut self) {
        let Some(running) = self.running.take() else { return };
        let _ = running.stop.send(());
        let result = running.thread.join();
        // Failing again while a test already fails would only hide its message.
        if !std::thread::panicking() {
            result.expect("the server thread panicked").expect("the server stopped with an error");
        }
    }
}

impl Deref for TestApp {
    type Target = Api;

    fn deref(&self) -> &Api {
        &self.api
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Runs `frontdesk::run` for `dir` on a new thread with its own runtime, and
/// waits until it answers HTTP. Returns the thread and the base URL.
fn launch(dir: &Path, clock: &ManualClock) -> (Running, String) {
    let (mut config, _) = FileConfig::load(Some(&dir.join("frontdesk.toml"))).expect("test config");
    config.server.data_dir = dir.join("data");
    let plugin_cache = config.server.data_dir.join("plugin-cache");
    share_compiled_plugins(&shared_plugin_cache(), &plugin_cache);
    let scripts = ScriptSource::Dir(dir.join("scripts"));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("non-blocking listener");
    let base = format!("http://{}", listener.local_addr().expect("local address"));
    let (stop, stopped) = oneshot::channel::<()>();
    let clock = Arc::new(clock.clone());
    let thread = std::thread::Builder::new()
        .name("test-app".into())
        .spawn(move || {
            // Multi-threaded as in `serve`: the rule ticker uses `block_in_place`.
            let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
            let result = runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener)?;
                let shutdown = async move {
                    let _ = stopped.await;
                };
                frontdesk::run(listener, config, scripts, None, clock, shutdown).await
            });
            runtime.shutdown_timeout(Duration::from_secs(10));
            result
        })
        .expect("spawn the server thread");
    if let Err(why) = wait_until_serving(&base, &thread) {
        let outcome = thread.join();
        panic!("the server did not start: {why}; it ended with {outcome:?}");
    }
    // The plugins are compiled (or taken from the cache) before the server answers.
    share_compiled_plugins(&plugin_cache, &shared_plugin_cache());
    (Running { stop, thread }, base)
}

/// Where the apps keep the plugins they compiled, across test runs. Every
/// app has its own data directory, and compiling the first-party plugins into
/// its cache costs about two seconds of CPU, more than the rest of a test; so
/// each app starts with a copy of what earlier ones compiled. The server names
/// cache entries by the hash of the component and of the engine's settings,
/// and wasmtime checks them when they load, so a copy can only save work. The
/// real binary's tests keep their own caches: one of them tests the cache.
fn shared_plugin_cache() -> std::path::PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("frontdesk-e2e-plugin-cache")
}

/// Copies the compiled plugins in `from` that `to` lacks. Each lands under a
/// temporary name first, so an app starting at the same time never reads
/// half a file.
fn share_compiled_plugins(from: &Path, to: &Path) {
    let Ok(entries) = std::fs::read_dir(from) else { return };
    std::fs::create_dir_all(to).expect("plugin cache dir");
    for entry in entries.map_while(Result::ok) {
        let name = entry.file_name();
        let target = to.join(&name);
        if !name.to_string_lossy().ends_with(".cwasm") || target.exists() {
            continue;
        }
        let partial = to.join(format!(
            "{}.partial-{}-{:?}",
            name.to_string_lossy(),
            std::process::id(),
            std::thread::current().id()
        ));
        if std::fs::copy(entry.path(), &partial).is_ok() {
            let _ = std::fs::rename(&partial, &target);
        }
    }
}

/// The listener is bound before `run` starts, so a request waits in the
/// backlog until the server accepts it: the first answer means it is up.
fn wait_until_serving(base: &str, thread: &std::thread::JoinHandle<anyhow::Result<()>>) -> Result<(), &'static str> {
    let agent: ureq::Agent = ureq::Agent::config_builder().timeout_global(Some(Duration::from_secs(5))).build().into();
    let deadline = Instant::now() + Duration::from_secs(60);
    while agent.get(&format!("{base}/healthz")).call().is_err() {
        if thread.is_finished() {
            return Err("its thread ended");
        }
        if Instant::now() >= deadline {
            return Err("no answer within 60 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}
