//! One module per group of commands; [`run`] sends a parsed command line to its module.
//! Every command prints its answer through [`crate::output::Output`] and returns a
//! [`Failure`] for anything that went wrong, which `main` turns into an exit code.

mod export;
mod get;
mod link;
mod login;
mod ls;
mod passwd;
mod put;
mod share;
mod status;
mod sync;
mod token;
mod trash;
mod tree;
mod versions;
mod watch;

use crate::cli::Command;
use crate::context::Context;
use crate::exit::Failure;

/// Runs `command`.
pub async fn run(ctx: &Context, command: Command) -> Result<(), Failure> {
    match command {
        Command::Login(args) => login::login(ctx, &args).await,
        Command::Token { action } => token::token(ctx, action).await,
        Command::Passwd => passwd::passwd(ctx).await,
        Command::Status => status::status(ctx).await,
        Command::Ls(args) => ls::ls(ctx, &args).await,
        Command::Put(args) => put::put(ctx, &args).await,
        Command::Get(args) => get::get(ctx, &args).await,
        Command::Export(args) => export::export(ctx, &args).await,
        Command::Mkdir { path } => tree::mkdir(ctx, &path).await,
        Command::Mv { from, to } => tree::mv(ctx, &from, &to).await,
        Command::Rm { path } => tree::rm(ctx, &path).await,
        Command::Trash { action } => trash::trash(ctx, action).await,
        Command::History { path, limit } => versions::history(ctx, &path, limit).await,
        Command::Restore { path, version, if_version } => {
            versions::restore(ctx, &path, version, if_version).await
        }
        Command::Pin { path, version, unpin } => versions::pin(ctx, &path, version, !unpin).await,
        Command::Share(args) => share::share(ctx, &args).await,
        Command::Link(args) => link::link(ctx, &args).await,
        Command::Sync(args) => sync::sync(ctx, &args).await,
        Command::Watch(args) => watch::watch(ctx, &args).await,
    }
}
