//! People and machines allowed in: `user` and `join-token`.

use std::io::IsTerminal;

use cairn_node::{NodeConfig, SecretsDir, admin, join, user_admin};
use cairn_raft::model::join_tokens::JoinRole;

use crate::args::{JoinTokenAction, MintArgs, UserAction};
use crate::load::{Result, load};

/// `user`: accounts, passwords and tokens.
pub async fn user(action: UserAction) -> Result {
    match action {
        UserAction::Add { config, name, admin, label } => {
            let created = admin::add_user(&load(&config)?, &name, admin, &label).await?;
            println!("user {name} (id {}){}", created.user.0, if admin { ", administrator" } else { "" });
            println!("token: {}", created.token);
        }
        UserAction::Passwd { config, name } => {
            let password = if std::io::stdin().is_terminal() {
                let first = rpassword::prompt_password(format!("new password for {name}: "))?;
                if rpassword::prompt_password("again: ")? != first {
                    return Err("the two passwords differ: nothing changed".into());
                }
                first
            } else {
                let mut line = String::new();
                std::io::stdin().read_line(&mut line)?;
                line.trim_end_matches(['\r', '\n']).to_owned()
            };
            user_admin::set_password(&load(&config)?, &name, &password).await?;
            println!("password set for {name}; their older sessions have ended");
        }
        UserAction::Disable { config, name } => {
            user_admin::set_disabled(&load(&config)?, &name, true).await?;
            println!("{name} is disabled");
        }
        UserAction::Enable { config, name } => {
            user_admin::set_disabled(&load(&config)?, &name, false).await?;
            println!("{name} is enabled");
        }
        UserAction::Tokens { config, name } => {
            print!("{}", user_admin::tokens(&load(&config)?, &name).await?)
        }
        UserAction::Revoke { config, name, id } => {
            user_admin::revoke(&load(&config)?, &name, &id).await?;
            println!("revoked token {id} of {name}");
        }
    }
    Ok(())
}

/// `join-token`: mint, list or revoke the tokens new machines join with.
pub async fn join_token(action: Option<JoinTokenAction>, mint: MintArgs) -> Result {
    match action {
        Some(JoinTokenAction::List { config }) => {
            let list = join::tokens::list(&load(&config)?).await?;
            print!("{}", join::tokens::render(&list, std::time::SystemTime::now()));
            Ok(())
        }
        Some(JoinTokenAction::Revoke { config, id }) => {
            let hash = join::tokens::revoke(&load(&config)?, &id).await?;
            println!("revoked join token {}", &hash.to_hex()[..16]);
            Ok(())
        }
        None => {
            let config = load(&mint.config.ok_or("give the config of a running member: -c node.toml")?)?;
            let role = if mint.storage { JoinRole::Storage } else { JoinRole::Voter };
            let minted = join::tokens::mint(&config, role, mint.ttl).await?;
            println!("{}", minted.token.to_text());
            if !SecretsDir::new(&config.secrets_dir).has_ca_key() {
                eprintln!(
                    "note: this node holds no CA key and cannot sign the join; give --peer a node that \
                     holds ca.key (the first node, unless you copied it elsewhere)"
                );
            }
            eprintln!(
                "a single-use {role} token, until {}. On the new machine, with its own node.toml:\n  \
                 cairn-node join -c node.toml --peer {} --token <the token>",
                httpdate::fmt_http_date(minted.expires),
                peer_address(&config)
            );
            Ok(())
        }
    }
}

/// The address a new machine reaches this node's API by, for the join hint: the listening
/// address unless it is every address (0.0.0.0), then the first name the API certificate
/// carries, else the address peers dial.
fn peer_address(config: &NodeConfig) -> String {
    let api = config.network.api;
    if !api.ip().is_unspecified() {
        return api.to_string();
    }
    match config.network.api_names.first() {
        Some(name) if name.contains(':') => format!("[{name}]:{}", api.port()),
        Some(name) => format!("{name}:{}", api.port()),
        None => format!("{}:{}", config.advertised().ip(), api.port()),
    }
}
