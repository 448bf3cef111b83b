//! The `frontdesk` server: CLI actions, HTTP API and wiring around
//! `frontdesk-core`.

pub mod cli;
pub mod config;
pub mod console;
pub mod http;
pub mod mail_in;
pub mod plugins;
pub mod scripts;
pub mod server;

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use frontdesk_core::auth::{self, Role};
use frontdesk_core::case_ref::CaseRefKey;
use frontdesk_core::plugins::{HostOptions, Kind, PluginHost};
use frontdesk_core::runtime::Frontdesk;
use frontdesk_core::runtime::outbox_worker::OutboxWorker;
use frontdesk_core::store::{RedbStore, Store, StoreError};
use frontdesk_core::write::command::{Command, Outcome};
use frontdesk_core::write::context::PluginRoutes;
use frontdesk_core::write::writer::WriterConfig;
use frontdesk_core::write::{ExecContext, execute::execute_alone};
use frontdesk_core::{Clock, SystemClock};

use crate::cli::ServeArgs;
use crate::config::FileConfig;
use crate::scripts::ScriptSource;
use frontdesk_core::rules::RulesHost;

/// The database file inside the data directory.
pub const DB_FILE: &str = "frontdesk.redb";
/// Where the first start writes the admin token.
pub const ADMIN_TOKEN_FILE: &str = "admin.token";

fn open_store(data_dir: &Path, cache_mib: usize) -> anyhow::Result<RedbStore> {
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create data directory {}", data_dir.display()))?;
    let path = data_dir.join(DB_FILE);
    RedbStore::open_with_cache(&path, cache_mib.saturating_mul(1 << 20)).map_err(|e| match e {
        StoreError::InUse(_) => anyhow::anyhow!(
            "the data directory {} is in use by a running frontdesk server; stop it, or use its HTTP API (POST /api/v1/tokens)",
            data_dir.display()
        ),
        other => anyhow::Error::new(other).context(format!("cannot open database {}", path.display())),
    })
}

/// Logs to stderr at `info` (`RUST_LOG` overrides), in colour on a terminal.
pub fn init_tracing() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,tower_http=info".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

/// `frontdesk serve`: runs until SIGINT or SIGTERM, then finishes in-flight
/// requests and queued writes.
///
/// # Errors
/// Bad config, a data directory in use, a port in use.
pub fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let scripts = ScriptSource::choose(args.scripts_dir.as_deref());
    let (mut config, origin) = FileConfig::load(args.config.as_deref())?;
    if let Some(bind) = args.bind {
        config.server.bind = bind;
    }
    if let Some(dir) = args.data_dir {
        config.server.data_dir = dir;
    }
    tracing::info!(config = %origin, "configuration loaded");
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the runtime")?;
    runtime.block_on(async move {
        let shutdown = shutdown_signal()?;
        let listener = tokio::net::TcpListener::bind(config.server.bind)
            .await
            .with_context(|| format!("cannot listen on {}", config.server.bind))?;
        run(listener, config, scripts, args.plugins_dir.as_deref(), Arc::new(SystemClock), shutdown).await
    })
}

/// Runs the server on `listener` until `shutdown` resolves.
///
/// # Errors
/// A data directory in use or unusable.
pub async fn run(
    listener: tokio::net::TcpListener,
    config: FileConfig,
    scripts: ScriptSource,
    plugins_dir: Option<&Path>,
    clock: Arc<dyn Clock>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let store: Arc<dyn Store> = Arc::new(open_store(&config.server.data_dir, config.server.cache_mib)?);
    let case_refs = case_ref_key(store.as_ref())?;
    let mut options = HostOptions::new(clock.clone(), Some(store.clone()));
    options.cache_dir = Some(config.server.data_dir.join("plugin-cache"));
    let plugin_host = Arc::new(
        PluginHost::load(plugins::sources(plugins_dir)?, &config.plugins, &options)
            .map_err(|e| anyhow::anyhow!("cannot start the plugin engine: {e}"))?,
    );
    let routes = PluginRoutes {
        channels: plugin_host.names_of(Kind::Channel).into_iter().collect(),
        crms: plugin_host.names_of(Kind::Crm),
    };
    let writer = WriterConfig {
        queue_capacity: config.server.queue_capacity,
        batch_limit: config.server.batch_limit,
        auto_close_after: config.cases.auto_close_after()?,
        sla: Arc::new(config.sla_book()?),
        outreach_window: config.outreach_window()?,
        plugins: Arc::new(routes),
    };
    let rules = Arc::new(RulesHost::new(config.scripts.clone()));
    let _watcher = scripts.load(&rules, clock.clone())?;
    let mut running = frontdesk_core::runtime::start(store, clock, rules, writer, config.tick_interval()?);
    if !plugin_host.is(&config.notify.channel, Kind::Channel) {
        tracing::warn!(
            channel = %config.notify.channel,
            "[notify] channel is not a loaded channel plugin; notifications from the rules will fail"
        );
    }
    let outbox = OutboxWorker {
        frontdesk: running.frontdesk().clone(),
        plugins: plugin_host.clone(),
        case_refs: case_refs.clone(),
        notify: config.notify.clone(),
    };
    running.spawn_until_shutdown(|stop| outbox.run(stop));
    ensure_admin_token(running.frontdesk(), &config.server.data_dir).await?;
    let state = http::AppState::new(running.frontdesk().clone(), plugin_host, case_refs, config.server.max_body_bytes)
        .with_sessions(config.console.sessions()?);
    let console = state.console_handle();
    let router = http::router(state, config.server.request_timeout()?);
    let addr = listener.local_addr()?;
    tracing::info!(%addr, data_dir = %config.server.data_dir.display(), "frontdesk listening");
    let limits = server::ConnectionLimits {
        max_connections: config.server.max_connections,
        header_read_timeout: config.server.header_read_timeout()?,
    };
    // Open console pages hold their live feed; end those first, so the
    // drain waits only on real requests.
    let shutdown = async move {
        shutdown.await;
        console.close();
    };
    server::serve(listener, router, limits, shutdown).await;
    tracing::info!("http stopped; finishing queued writes");
    running.shutdown().await;
    tracing::info!("frontdesk stopped");
    Ok(())
}

/// The key that signs case references, made on first start and kept in the
/// database (under the empty plugin name, which no plugin can have).
fn case_ref_key(store: &dyn Store) -> anyhow::Result<CaseRefKey> {
    const KEY: &str = "case_ref_key";
    if let Some(bytes) = store.plugin_state("", KEY)? {
        return Ok(CaseRefKey::new(bytes));
    }
    let key = CaseRefKey::generate();
    store.transact(&mut |txn| txn.put_plugin_state("", KEY, Some(key.bytes())))?;
    Ok(key)
}

/// `frontdesk scripts check`: compiles every script of `dir`, prints
/// `file:line:col: message` for each error, and returns how many there were.
///
/// # Errors
/// The directory cannot be read.
pub fn check_scripts(dir: &Path) -> anyhow::Result<usize> {
    let errors = frontdesk_core::rules::host::check_dir(dir, &frontdesk_core::rules::ScriptLimits::default())
        .with_context(|| format!("cannot read scripts directory {}", dir.display()))?;
    for (file, line, column, message) in &errors {
        println!("{}:{line}:{column}: {message}", dir.join(file).display());
    }
    if errors.is_empty() {
        println!("all scripts in {} compile", dir.display());
    }
    Ok(errors.len())
}

/// `frontdesk scripts test`: runs every fixture of `<dir>/tests`, prints one
/// line per fixture, and returns how many failed.
///
/// # Errors
/// Unreadable scripts or malformed fixtures.
pub fn test_scripts(dir: &Path) -> anyhow::Result<usize> {
    let host = RulesHost::new(frontdesk_core::rules::ScriptLimits::default());
    host.load_dir(dir, SystemClock.now())
        .with_context(|| format!("cannot read scripts directory {}", dir.display()))?;
    if let Some(broken) = host.statuses().into_iter().find(|s| s.compile_error.is_some()) {
        anyhow::bail!("{} does not compile: {:?}", broken.file, broken.compile_error);
    }
    let fixtures = frontdesk_core::rules::fixtures::load(dir).map_err(anyhow::Error::msg)?;
    let mut failed = 0;
    for (file, fixture) in &fixtures {
        match fixture.run(&host) {
            Ok(()) => println!("ok      {file}: {}", fixture.name),
            Err(diff) => {
                failed += 1;
                println!("FAILED  {file}: {}\n        {diff}", fixture.name);
            }
        }
    }
    println!("{} passed, {failed} failed", fixtures.len() - failed);
    Ok(failed)
}

/// `frontdesk scripts simulate`: prints the JSON report of replaying cases
/// created in the last `since` through the scripts of `dir`.
///
/// # Errors
/// A bad duration, scripts that do not compile, a data directory in use.
pub fn simulate_scripts(since: &str, dir: &Path, config: Option<&Path>, data_dir: Option<&Path>) -> anyhow::Result<()> {
    let seconds = frontdesk_core::duration::parse_duration(since).map_err(|e| UsageError(e.to_string()))?;
    let (config, _) = FileConfig::load(config)?;
    let host = RulesHost::new(config.scripts.clone());
    let now = SystemClock.now();
    host.load_dir(dir, now).with_context(|| format!("cannot read scripts directory {}", dir.display()))?;
    if let Some(broken) = host.statuses().into_iter().find(|s| s.compile_error.is_some()) {
        anyhow::bail!("{} does not compile: {:?}", broken.file, broken.compile_error);
    }
    let store = open_store(data_dir.unwrap_or(&config.server.data_dir), config.server.cache_mib)?;
    let since = now
        .checked_sub(jiff::SignedDuration::from_secs(i64::try_from(seconds).unwrap_or(i64::MAX)))
        .unwrap_or(jiff::Timestamp::MIN);
    let report =
        frontdesk_core::rules::simulate::simulate(&host, &store, since, now, http::admin::MAX_SIMULATED_CASES)?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

/// Bad command-line input: the process exits with status 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(String);

/// `frontdesk sla due`: the instant `duration` of business time after
/// `start` in `calendar`.
///
/// # Errors
/// [`UsageError`] for an unknown calendar, a bad time or duration; config
/// errors otherwise.
pub fn sla_due(calendar: &str, start: &str, duration: &str, config: Option<&Path>) -> anyhow::Result<jiff::Timestamp> {
    let (config, origin) = FileConfig::load(config).map_err(|e| UsageError(format!("{e:#}")))?;
    let book = config.sla_book().map_err(|e| UsageError(format!("{origin}: {e:#}")))?;
    let usage = |message: String| anyhow::Error::new(UsageError(message));
    let calendar = book
        .calendar(calendar)
        .ok_or_else(|| usage(format!("unknown calendar {calendar:?} (not in {origin}, and not 24x7)")))?;
    let start: jiff::Timestamp = start
        .parse()
        .map_err(|e| usage(format!("invalid --start {start:?}: {e} (expected RFC 3339, e.g. 2026-03-02T10:00:00Z)")))?;
    let seconds = frontdesk_core::duration::parse_duration(duration).map_err(|e| usage(e.to_string()))?;
    calendar.due(start, seconds).map_err(|e| usage(e.to_string()))
}

/// On a store without tokens, creates the `admin` token and writes it to
/// `<data_dir>/admin.token` (mode 0600).
async fn ensure_admin_token(frontdesk: &Frontdesk, data_dir: &Path) -> anyhow::Result<()> {
    if frontdesk.has_tokens().await? {
        return Ok(());
    }
    let secret = auth::generate_secret();
    let token = Role::Admin.token("admin", &secret, frontdesk.clock().now());
    let path = data_dir.join(ADMIN_TOKEN_FILE);
    write_secret_file(&path, &secret)?;
    frontdesk.submit(Command::CreateToken(token)).await.context("cannot store the admin token")?;
    tracing::info!(path = %path.display(), "created the first admin token");
    Ok(())
}

fn write_secret_file(path: &Path, secret: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).with_context(|| format!("cannot write {}", path.display()))?;
    writeln!(file, "{secret}").with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// Executes `command` directly on the data directory's store, with no
/// server running (the CLI's writes).
fn execute_offline(command: &Command, config: Option<&Path>, data_dir: Option<&Path>) -> anyhow::Result<Outcome> {
    let (config, _) = FileConfig::load(config)?;
    let data_dir = data_dir.unwrap_or(&config.server.data_dir);
    let store = open_store(data_dir, config.server.cache_mib)?;
    let book = config.sla_book()?;
    let ctx = ExecContext {
        now: SystemClock.now(),
        auto_close_after: config.cases.auto_close_after()?,
        sla: &book,
        outreach_window: config.outreach_window()?,
        plugins: frontdesk_core::write::context::PluginRoutes::NONE,
    };
    Ok(execute_alone(&store, command, &ctx)?)
}

/// `frontdesk token create`: stores a token directly in the database and
/// prints the secret alone on the last line.
///
/// # Errors
/// A data directory in use, a taken name, a bad name.
pub fn create_token(role: Role, name: &str, config: Option<&Path>, data_dir: Option<&Path>) -> anyhow::Result<()> {
    let secret = auth::generate_secret();
    let command = Command::CreateToken(role.token(name, &secret, SystemClock.now()));
    match execute_offline(&command, config, data_dir)? {
        Outcome::Token(token) => {
            println!("created {} token {:?}; it is shown only once:", token.role, token.name);
            println!("{secret}");
            Ok(())
        }
        other => anyhow::bail!("token was not created: {other:?}"),
    }
}

/// Who `frontdesk agent create` adds.
#[derive(Debug, Clone)]
pub struct NewAgentArgs {
    /// Unique name.
    pub name: String,
    /// Unique email.
    pub email: String,
    /// `agent`, `lead` or `admin`.
    pub role: Role,
    /// Team memberships.
    pub teams: Vec<String>,
}

/// A password from the first line of `file`, or else one line of stdin;
/// the line ending is not part of it.
fn read_password(file: Option<&Path>) -> anyhow::Result<String> {
    let text = match file {
        Some(path) => std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?,
        None => {
            let mut line = String::new();
            std::io::stdin().read_line(&mut line).context("cannot read the password from stdin")?;
            line
        }
    };
    let line = text.lines().next().unwrap_or_default();
    Ok(line.to_owned())
}

/// The PHC string of a password read as [`read_password`] does.
fn hashed_password(file: Option<&Path>) -> anyhow::Result<String> {
    let password = read_password(file)?;
    Ok(auth::password::hash_password(&password).map_err(|e| UsageError(e.to_string()))?)
}

/// `frontdesk agent create`: stores a person directly in the database and
/// prints it (never its password hash) as one line of JSON.
///
/// # Errors
/// A data directory in use, a taken name or email, a bad name, email, role
/// or password.
pub fn create_agent(
    new: NewAgentArgs,
    password_file: Option<&Path>,
    config: Option<&Path>,
    data_dir: Option<&Path>,
) -> anyhow::Result<()> {
    let agent = auth::Agent {
        name: new.name,
        email: new.email,
        role: new.role,
        teams: new.teams,
        password_hash: hashed_password(password_file)?,
        active: true,
        created_at: SystemClock.now(),
    };
    match execute_offline(&Command::CreateAgent(agent), config, data_dir)? {
        Outcome::Agent(agent) => {
            println!("{}", serde_json::to_string(&agent.profile())?);
            Ok(())
        }
        other => anyhow::bail!("agent was not created: {other:?}"),
    }
}

/// `frontdesk agent reset-password`: sets an agent's password directly in
/// the database, which ends its sessions.
///
/// # Errors
/// A data directory in use, an unknown agent, a bad password.
pub fn reset_password(
    name: &str,
    password_file: Option<&Path>,
    config: Option<&Path>,
    data_dir: Option<&Path>,
) -> anyhow::Result<()> {
    let command = Command::UpdateAgent {
        name: name.to_owned(),
        password_hash: Some(hashed_password(password_file)?),
        role: None,
        teams: None,
        active: None,
        email: None,
    };
    match execute_offline(&command, config, data_dir)? {
        Outcome::Agent(agent) => {
            println!("{}", serde_json::to_string(&agent.profile())?);
            Ok(())
        }
        other => anyhow::bail!("password was not reset: {other:?}"),
    }
}

/// Resolves on SIGINT or SIGTERM. The handlers are installed when this is
/// called, not when the future is first polled, so a signal that arrives
/// during start-up is not lost (nor does it kill the process).
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()> + Send + 'static> {
    #[cfg(unix)]
    let mut term =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).context("cannot handle SIGTERM")?;
    #[cfg(unix)]
    let mut int =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()).context("cannot handle SIGINT")?;
    Ok(async move {
        #[cfg(unix)]
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutdown requested");
    })
}
