//! `cairn link`: publish a folder or file as a public read-only link (printing its full URL),
//! list the links on what you own and the links you made (every page), or revoke one.

use cairn_client::Client;
use cairn_client::api::{LinkInfo, LinkPaging, LinkView};
use cairn_proto::Clock;
use serde::Serialize;

use crate::cli::LinkArgs;
use crate::context::Context;
use crate::exit::Failure;
use crate::format::{duration, shown, time};

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

/// What `link --list` answers.
#[derive(Serialize)]
struct Links {
    links: Vec<LinkInfo>,
}

/// Creates, lists or revokes links, as `args` says.
pub async fn link(ctx: &Context, args: &LinkArgs) -> Result<(), Failure> {
    let client = ctx.client()?;
    if args.list {
        return list(ctx, &client).await;
    }
    let Some(target) = &args.target else {
        return Err(Failure::usage("link needs a folder or file (or a link id with --revoke, or --list)"));
    };
    if args.revoke {
        client.revoke_link(target).await?;
        let answer = Revoked { id: target.clone(), revoked: true };
        ctx.out.answer(&answer, |w| writeln!(w, "revoked link {}", answer.id));
        return Ok(());
    }
    let expires_ms = match &args.expires {
        Some(text) => Some(Clock::system().now_ms().saturating_add(duration(text)?.as_millis() as u64)),
        None => None,
    };
    let link = client.create_link(target, args.password.clone(), expires_ms, ctx.ns()).await?;
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

async fn list(ctx: &Context, client: &Client) -> Result<(), Failure> {
    let mut paging = LinkPaging::default();
    let mut links = Vec::new();
    loop {
        let page = client.links(&paging).await?;
        let empty = page.links.is_empty();
        links.extend(page.links);
        match page.next {
            // A page that brought nothing ends the walk even if it names a next page, so a
            // confused server cannot keep us looping.
            Some(next) if !empty => paging.after = Some(next),
            _ => break,
        }
    }
    let answer = Links { links };
    ctx.out.answer(&answer, |w| {
        for l in &answer.links {
            // Paths and names are printed escaped: they are someone's input.
            let path = l.path.as_deref().map_or_else(|| "(gone)".to_owned(), shown);
            let by = cairn_proto::printable(&l.created_by);
            let expiry = l.expires_ms.map_or_else(String::new, |ms| format!(", expires {}", time(ms)));
            let password = if l.password { ", password" } else { "" };
            writeln!(w, "{}  {}  {} {} by {}{expiry}{password}", l.id, l.status, l.kind, path, by)?;
        }
        Ok(())
    });
    Ok(())
}
