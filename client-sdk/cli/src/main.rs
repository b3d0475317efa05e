//! `cairn`, the command line of a cairn drive: parse the command line, run the command, turn
//! its outcome into output and an exit code. Everything else lives in the modules below.

mod cli;
mod commands;
mod config;
mod context;
mod exit;
mod format;
mod local;
mod output;
mod progress;
mod remote;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::Cli;
use crate::context::Context;
use crate::exit::{Exit, Failure};

#[tokio::main]
async fn main() -> ExitCode {
    // Usage errors exit with clap's code 2 here; --help and --version with 0.
    let cli = Cli::parse();
    init_logging();
    let ctx = Context::new(cli.global);
    let outcome = tokio::select! {
        outcome = commands::run(&ctx, cli.command) => outcome,
        // Dropping the command's future drops its temporary files with it, so Ctrl-C in the
        // middle of a download leaves no `.part` file behind.
        _ = tokio::signal::ctrl_c() => Err(Failure::new(Exit::Interrupted, "interrupted", "interrupted")),
    };
    match outcome {
        Ok(()) => ExitCode::from(Exit::Ok as u8),
        Err(failure) => {
            ctx.out.error(&failure);
            ExitCode::from(failure.exit as u8)
        }
    }
}

/// Warnings of the SDK (a retried upload, say) on stderr; `CAIRN_LOG=debug` shows more.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("CAIRN_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}
