//! `cairn link`: publish a folder or file as a public read-only link (printing its full URL),
//! or revoke one.

use cairn_client::api::LinkView;
use cairn_proto::Clock;
use serde::Serialize;

use crate::cli::LinkArgs;
use crate::context::Context;
use crate::exit::Failure;
use crate::format::{duration, time};

/// What a new link answers: the link and its full URLs.
#[derive(Serialize)]
struct Link {
    #[serde(flatten)]
    link: LinkView,
    /// Where anyone holding it lists or stats it.
    url: String,
    /// Where anyone holding it downloads the content.
    content_url: String,
}

/// What a revocation answers.
#[derive(Serialize)]
struct Revoked {
    id: String,
    revoked: bool,
}

/// Creates or revokes a link, as `args` says.
pub async fn link(ctx: &Context, args: &LinkArgs) -> Result<(), Failure> {
    let client = ctx.client()?;
    if args.revoke {
        client.revoke_link(&args.target).await?;
        let answer = Revoked { id: args.target.clone(), revoked: true };
        ctx.out.answer(&answer, |w| writeln!(w, "revoked link {}", answer.id));
        return Ok(());
    }
    let expires_ms = match &args.expires {
        Some(text) => Some(Clock::system().now_ms().saturating_add(duration(text)?.as_millis() as u64)),
        None => None,
    };
    let link = client.create_link(&args.target, args.password.clone(), expires_ms, ctx.ns()).await?;
    // The node that made the link is one that answers: its address is the link's home.
    let node = client.current_node();
    let base = node.as_str().trim_end_matches('/');
    let answer = Link {
        url: format!("{base}{}", link.url_path),
        content_url: format!("{base}{}", link.content_path),
        link,
    };
    ctx.out.answer(&answer, |w| writeln!(w, "{}", answer.url));
    let expiry = answer
        .link
        .expires_ms
        .map_or_else(|| "never expires".to_owned(), |ms| format!("expires {}", time(ms)));
    let password = if answer.link.password { ", asks for a password" } else { "" };
    ctx.out.note(&format!(
        "link {} {expiry}{password}; content at {}; `cairn link --revoke {}` ends it",
        answer.link.id, answer.content_url, answer.link.id
    ));
    Ok(())
}
