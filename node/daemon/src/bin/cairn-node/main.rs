//! `cairn-node`: run a cairn node and administer its cluster. The subcommands are in
//! [`args`]; what each does is in the module for its group.

mod args;
mod cluster;
mod load;
mod recovery;
mod setup;
mod users;

use std::process::ExitCode;

use clap::Parser;

use args::{Cli, Command};
use load::Result;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // One thread runs a node's async work (Raft, transport, service) and its short storage
    // calls; long work goes to tokio's blocking pool. On the 2-core machines cairn targets this
    // measured faster than a multi-threaded runtime: no wake-ups across threads on the commit
    // path (BENCHMARKS.md).
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> Result {
    match command {
        Command::Init { config } => setup::init(&config).await,
        Command::IssueCert { config, id, api, api_names } => setup::issue_cert(&config, id, api, &api_names),
        Command::Start { config } => setup::start(&config).await,
        Command::Join { config, token, peer } => setup::join(&config, &token, &peer).await,
        Command::RenewCert { config } => setup::renew_cert(&config).await,
        Command::CheckConfig { configs } => setup::check_config(configs),
        Command::Status { config } => cluster::status(&config).await,
        Command::Member { change } => cluster::member(change).await,
        Command::Upgrade { step } => cluster::upgrade(step).await,
        Command::JournalRetention { config, days, ms } => cluster::journal_retention(&config, days, ms).await,
        Command::User { action } => users::user(action).await,
        Command::JoinToken { action, mint } => users::join_token(action, mint).await,
        Command::Backup { config, out, force } => recovery::take_backup(&config, &out, force).await,
        Command::Restore { config, backup } => recovery::restore(&config, &backup),
        Command::Recover { config, force_new_cluster, yes } => {
            recovery::recover(&config, force_new_cluster, yes).await
        }
    }
}
