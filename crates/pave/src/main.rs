//! `pave`: the one binary. Runs the server (`up`, `serve`) and is the CLI
//! client of its API. Only this crate knows the command line and config files.

mod cli;
mod client;
mod commands;
mod config;
mod demo;
mod golden_paths;
mod output;

use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use crate::cli::{Cli, Command};

// mimalloc instead of glibc's allocator: a large catalog refresh builds and
// drops megabytes of JSON per batch, and glibc spent a fifth of the refresh
// consolidating and splitting chunks.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use crate::config::{Config, LogFormat, Overrides};

fn main() -> ExitCode {
    // One TLS crypto provider for the whole process (see notes/dependencies.md).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {}", message(&error));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line (later lines only for lists such as
/// policy diagnostics).
fn message(error: &anyhow::Error) -> String {
    let mut text = error.to_string();
    for cause in error.chain().skip(1) {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            text.push_str(": ");
            text.push_str(&cause);
        }
    }
    text
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let global = &cli.global;
    match &cli.command {
        Command::Up(args) => {
            let config = Config::resolve(
                None,
                &config::environment(),
                Overrides {
                    listen: args.listen,
                    data_dir: args.data_dir.clone(),
                    log_format: args.log_format,
                    catalog_locations: args
                        .locations
                        .iter()
                        .map(|path| config::CatalogLocation {
                            kind: "file".into(),
                            target: path.display().to_string(),
                        })
                        .collect(),
                    no_demo: args.no_demo,
                    embedded: true,
                    router_listen: args.router_listen,
                },
                LogFormat::Text,
            )?;
            commands::serve::run(config, true).await
        }
        Command::Serve(args) => {
            let config = Config::resolve(
                args.config.as_deref(),
                &config::environment(),
                Overrides {
                    listen: args.listen,
                    data_dir: None,
                    log_format: args.log_format,
                    catalog_locations: Vec::new(),
                    no_demo: false,
                    embedded: false,
                    router_listen: None,
                },
                LogFormat::Json,
            )?;
            commands::serve::run(config, false).await
        }
        Command::Login(args) => commands::session::login(global, args).await,
        Command::Logout => commands::session::logout(),
        Command::Whoami => commands::session::whoami(global).await,
        Command::Token(command) => commands::token::run(global, command).await,
        Command::Policy(command) => commands::policy::run(global, command).await,
        Command::Audit(command) => commands::audit::run(global, command).await,
        Command::Catalog(command) => commands::catalog::run(global, command).await,
        Command::Create(args) => commands::create::run(global, args).await,
        Command::Env(command) => commands::env::run(global, command).await,
        Command::Deploy(args) => commands::deploy::deploy(global, args).await,
        Command::Rollback(args) => commands::deploy::rollback(global, args).await,
        Command::Promote(args) => commands::deploy::promote(global, args).await,
        Command::Deployments(args) => commands::deploy::deployments(global, args).await,
        Command::Logs(args) => commands::deploy::logs(global, args).await,
        Command::Preview(command) => commands::env::preview(global, command).await,
        Command::Completions { shell } => {
            clap_complete::generate(*shell, &mut Cli::command(), "pave", &mut std::io::stdout());
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_command_line_is_well_formed() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
