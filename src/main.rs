//! The `frontdesk` binary: parse arguments, set up tracing, run.

use std::process::ExitCode;

use clap::Parser;
use frontdesk::UsageError;
use frontdesk::cli::{AgentCommand, Args, Commands, PluginsCommand, ScriptsCommand, SlaCommand, TokenCommand};

/// mimalloc instead of glibc's malloc: under load the server spent a large
/// share of its CPU in glibc's allocator (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    frontdesk::init_tracing();
    let args = Args::parse();
    let result = match args.command {
        Commands::Serve(serve) => frontdesk::serve(serve),
        Commands::Token { command: TokenCommand::Create { role, name, config, data_dir } } => {
            frontdesk::create_token(role, &name, config.as_deref(), data_dir.as_deref())
        }
        Commands::Agent {
            command: AgentCommand::Create { name, email, role, teams, password_file, config, data_dir },
        } => frontdesk::create_agent(
            frontdesk::NewAgentArgs { name, email, role, teams },
            password_file.as_deref(),
            config.as_deref(),
            data_dir.as_deref(),
        ),
        Commands::Agent { command: AgentCommand::ResetPassword { name, password_file, config, data_dir } } => {
            frontdesk::reset_password(&name, password_file.as_deref(), config.as_deref(), data_dir.as_deref())
        }
        Commands::Scripts { command: ScriptsCommand::Check { scripts_dir } } => {
            match frontdesk::check_scripts(&scripts_dir) {
                Ok(0) => Ok(()),
                Ok(_) => return ExitCode::FAILURE,
                Err(e) => Err(e),
            }
        }
        Commands::Scripts { command: ScriptsCommand::Test { scripts_dir } } => {
            match frontdesk::test_scripts(&scripts_dir) {
                Ok(0) => Ok(()),
                Ok(_) => return ExitCode::FAILURE,
                Err(e) => Err(e),
            }
        }
        Commands::Scripts { command: ScriptsCommand::Simulate { since, scripts_dir, config, data_dir } } => {
            frontdesk::simulate_scripts(&since, &scripts_dir, config.as_deref(), data_dir.as_deref())
        }
        Commands::Plugins { command: PluginsCommand::List { config, plugins_dir } } => {
            frontdesk::plugins::list(config.as_deref(), plugins_dir.as_deref())
        }
        Commands::Plugins { command: PluginsCommand::Run { plugin, hook, input, config, plugins_dir } } => {
            frontdesk::plugins::run(&plugin, &hook, &input, config.as_deref(), plugins_dir.as_deref())
        }
        // Answers with its own sysexits code, which the MTA reads.
        Commands::MailIn(mail_in) => return frontdesk::mail_in::run(&mail_in),
        Commands::Sla { command: SlaCommand::Due { calendar, start, duration, config } } => {
            frontdesk::sla_due(&calendar, &start, &duration, config.as_deref()).map(|due| println!("{due}"))
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            // Bad arguments exit 2, like clap's own usage errors.
            if e.is::<UsageError>() { ExitCode::from(2) } else { ExitCode::FAILURE }
        }
    }
}
