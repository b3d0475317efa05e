//! `cairn login`: check a token against the cluster and save the profile; `cairn status`
//! lives next door in `status.rs`.

use std::path::PathBuf;

use cairn_client::api::UserView;
use cairn_client::{Client, ClientConfig};
use serde::Serialize;

use crate::config::Profile;
use crate::context::Context;
use crate::exit::Failure;

/// What `login` answers.
#[derive(Serialize)]
struct LoggedIn {
    user: UserView,
    nodes: Vec<String>,
    profile: PathBuf,
}

/// Checks `--token` with `GET /v1/me` through `--node`s (trusting `--ca`) and, only if the
/// cluster accepts it, saves them as the profile.
pub async fn login(ctx: &Context) -> Result<(), Failure> {
    let nodes = ctx.global.nodes.clone();
    if nodes.is_empty() {
        return Err(Failure::usage("login needs --node URL (repeat it for every node you know)"));
    }
    let Some(token) = ctx.global.token.clone() else {
        return Err(Failure::usage("login needs --token TOKEN (or CAIRN_TOKEN in the environment)"));
    };
    let profile =
        Profile { nodes: nodes.clone(), token: token.clone(), ca_pem: ctx.ca_override()?, ca_file: None };
    profile.check().map_err(Failure::bad_input)?;

    let mut config = ClientConfig::new(nodes.clone(), token);
    config.ca_pem = profile.ca_pem.clone();
    let client = Client::new(config)?;
    let user = client.me().await?;

    let path = ctx.profile_path()?;
    profile.save(&path)?;
    let answer = LoggedIn { user, nodes, profile: path };
    ctx.out.answer(&answer, |w| {
        let u = &answer.user;
        let admin = if u.admin { ", administrator" } else { "" };
        writeln!(w, "logged in as {} (user {}{admin}, drive {})", u.name, u.id, u.drive)?;
        writeln!(w, "profile saved to {} ({} nodes)", answer.profile.display(), answer.nodes.len())
    });
    Ok(())
}
