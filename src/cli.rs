//! Command-line arguments (clap). `main` turns them into actions; only the
//! validated [`crate::config::FileConfig`] travels on.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};
use frontdesk_core::auth::Role;

/// Frontdesk: customer service management.
#[derive(Debug, Parser)]
#[command(name = "frontdesk", version, about)]
pub struct Args {
    /// What to do.
    #[command(subcommand)]
    pub command: Commands,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Commands {
    /// Run the server (with no flags: the embedded defaults, data in ./data).
    Serve(ServeArgs),
    /// Manage API tokens.
    Token {
        /// Token action.
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Manage people (agents, leads, admins).
    Agent {
        /// Agent action.
        #[command(subcommand)]
        command: AgentCommand,
    },
    /// Rule scripts.
    Scripts {
        /// Scripts action.
        #[command(subcommand)]
        command: ScriptsCommand,
    },
    /// SLA calendar arithmetic.
    Sla {
        /// SLA action.
        #[command(subcommand)]
        command: SlaCommand,
    },
    /// Deliver one raw mail from stdin to a channel webhook, for an MTA's
    /// pipe (exit codes per sysexits: 0 ok, 75 retry later, 65 refused).
    MailIn(MailInArgs),
    /// Plugins: what is installed, and trying one out.
    Plugins {
        /// Plugins action.
        #[command(subcommand)]
        command: PluginsCommand,
    },
}

/// `frontdesk plugins ...`.
#[derive(Debug, Subcommand)]
pub enum PluginsCommand {
    /// List the built-in plugins and those in --plugins-dir: compatible and
    /// running, or refused and why.
    List {
        /// Config file (its `[plugins.NAME]` tables grant capabilities).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Directory of third-party plugins.
        #[arg(long)]
        plugins_dir: Option<PathBuf>,
    },
    /// Run one hook of a plugin on a JSON fixture, outside the server, and
    /// print its output with the fuel, memory, sizes and time it used
    /// against its limits.
    Run {
        /// The plugin's name.
        plugin: String,
        /// `parse-inbound`, `deliver`, `enrich`, `on-case-event` or `score`.
        hook: String,
        /// The hook's input as JSON (see plugin-sdk/README.md for each shape).
        #[arg(long)]
        input: PathBuf,
        /// Config file.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Directory of third-party plugins.
        #[arg(long)]
        plugins_dir: Option<PathBuf>,
    },
}

/// `frontdesk scripts ...`.
#[derive(Debug, Subcommand)]
pub enum ScriptsCommand {
    /// Compile every script; print `file:line:col: message` per error; exit 1 if any.
    Check {
        /// Scripts directory.
        #[arg(long, default_value = "scripts")]
        scripts_dir: PathBuf,
    },
    /// Replay recent cases through the scripts in DIR and report what they
    /// would have changed; writes nothing. Needs the server stopped (use
    /// `POST /api/v1/admin/scripts/simulate` while it runs).
    Simulate {
        /// How far back: `30d`, `12h`.
        #[arg(long)]
        since: String,
        /// The candidate scripts.
        #[arg(long, default_value = "scripts")]
        scripts_dir: PathBuf,
        /// Config file.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Data directory (overrides `server.data_dir`).
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Run the fixtures in `<scripts-dir>/tests/*.json`; exit 1 if any fails.
    Test {
        /// Scripts directory.
        #[arg(long, default_value = "scripts")]
        scripts_dir: PathBuf,
    },
}

/// `frontdesk sla ...`.
#[derive(Debug, Subcommand)]
pub enum SlaCommand {
    /// Print the instant at which DURATION of business time has passed since
    /// START in CALENDAR (RFC 3339, UTC).
    Due {
        /// Calendar name from the config, or `24x7`.
        #[arg(long)]
        calendar: String,
        /// Start instant, RFC 3339 (`2026-03-02T10:00:00+01:00`).
        #[arg(long)]
        start: String,
        /// Business time: `90s`, `30m`, `4h`, `2d`, `1h30m`.
        #[arg(long)]
        duration: String,
        /// Config file.
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

/// `frontdesk serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Config file (default: ./config/frontdesk.toml if present, else the embedded one).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Listen address (overrides `server.bind`).
    #[arg(long)]
    pub bind: Option<SocketAddr>,
    /// Data directory (overrides `server.data_dir`).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Rule scripts directory, watched for changes (default: ./scripts if it
    /// exists, else the embedded default rules).
    #[arg(long)]
    pub scripts_dir: Option<PathBuf>,
    /// Directory of third-party plugins.
    #[arg(long)]
    pub plugins_dir: Option<PathBuf>,
}

/// `frontdesk agent ...`. Like `token create`, these work only while no
/// server holds the data directory; use `/api/v1/agents` then.
#[derive(Debug, Subcommand)]
pub enum AgentCommand {
    /// Add a person and print it as one line of JSON. The password is read
    /// from --password-file, or else as one line on stdin.
    Create {
        /// A unique name of a-z, 0-9, '.', '_', '-' (assignments and actors use it).
        #[arg(long)]
        name: String,
        /// A unique email (stored lower case).
        #[arg(long)]
        email: String,
        /// agent, lead or admin.
        #[arg(long)]
        role: Role,
        /// A team the agent belongs to (repeat for several).
        #[arg(long = "team")]
        teams: Vec<String>,
        /// A file whose first line is the password (at least 10 characters).
        #[arg(long)]
        password_file: Option<PathBuf>,
        /// Config file.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Data directory (overrides `server.data_dir`).
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Set a new password (from --password-file, or one line on stdin); the
    /// agent's sessions end.
    ResetPassword {
        /// The agent.
        #[arg(long)]
        name: String,
        /// A file whose first line is the password (at least 10 characters).
        #[arg(long)]
        password_file: Option<PathBuf>,
        /// Config file.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Data directory (overrides `server.data_dir`).
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
}

/// `frontdesk token ...`.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token and print it (alone on the last line). Works only while
    /// no server holds the data directory; use `POST /api/v1/tokens` then.
    Create {
        /// admin, agent, lead or integration.
        #[arg(long)]
        role: Role,
        /// A unique name; events record it as the actor.
        #[arg(long)]
        name: String,
        /// Config file.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Data directory (overrides `server.data_dir`).
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
}

/// `frontdesk mail-in`: what an MTA's pipe transport runs for each message.
#[derive(Debug, Clone, clap::Args)]
pub struct MailInArgs {
    /// The server, `http://HOST:PORT`.
    #[arg(long)]
    pub url: String,
    /// A file whose first line is the channel's webhook secret
    /// (`[plugins.NAME] secret`); each message is signed with it.
    #[arg(long)]
    pub token_file: PathBuf,
    /// The channel plugin to deliver to.
    #[arg(long, default_value = "email")]
    pub plugin: String,
    /// Seconds to wait for the server before telling the MTA to retry.
    #[arg(long, default_value_t = 60)]
    pub timeout_secs: u64,
}
