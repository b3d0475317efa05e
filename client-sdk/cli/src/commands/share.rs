//! `cairn share`: share a folder or file with a user, revoke a share, list shares given and
//! received (every page of each).

use cairn_client::Client;
use cairn_client::api::{Paging, Role, SharePage, ShareView};
use serde::Serialize;

use crate::cli::{RoleArg, ShareArgs};
use crate::context::Context;
use crate::exit::Failure;
use crate::format::shown;

/// What a grant or a revocation answers.
#[derive(Serialize)]
struct Shared {
    path: String,
    user: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<Role>,
    shared: bool,
}

/// What `share --list` answers.
#[derive(Serialize)]
struct Shares {
    given: Vec<ShareView>,
    received: Vec<ShareView>,
}

/// Grants, revokes or lists, as `args` says.
pub async fn share(ctx: &Context, args: &ShareArgs) -> Result<(), Failure> {
    let client = ctx.client()?;
    if args.list {
        return list(ctx, &client).await;
    }
    let (Some(path), Some(user)) = (&args.path, &args.user) else {
        return Err(Failure::usage("share needs PATH and USER (or --list)"));
    };
    let answer = if args.revoke {
        client.unshare(path, user, ctx.ns()).await?;
        Shared { path: shown(path), user: user.clone(), role: None, shared: false }
    } else {
        let role = match args.role {
            RoleArg::Viewer => Role::Viewer,
            RoleArg::Editor => Role::Editor,
        };
        client.share(path, user, role, ctx.ns()).await?;
        Shared { path: shown(path), user: user.clone(), role: Some(role), shared: true }
    };
    ctx.out.answer(&answer, |w| match answer.role {
        Some(role) => writeln!(w, "shared {} with {} as {}", answer.path, answer.user, role_name(role)),
        None => writeln!(w, "{} no longer shares {}", answer.user, answer.path),
    });
    Ok(())
}

async fn list(ctx: &Context, client: &Client) -> Result<(), Failure> {
    let given = all_pages(|paging| async move { client.shares_given(&paging).await }).await?;
    let received = all_pages(|paging| async move { client.shares_received(&paging).await }).await?;
    let shares = Shares { given, received };
    ctx.out.answer(&shares, |w| {
        writeln!(w, "shared by you:")?;
        for s in &shares.given {
            writeln!(w, "  {}  with {} ({})", shown(&s.path), s.user, role_name(s.role))?;
        }
        writeln!(w, "shared with you:")?;
        for s in &shares.received {
            writeln!(w, "  {}:{}  ({})  use --ns {}", s.owner, shown(&s.path), role_name(s.role), s.ns)?;
        }
        Ok(())
    });
    Ok(())
}

/// Every page of a share listing.
async fn all_pages<F, Fut>(mut page: F) -> Result<Vec<ShareView>, Failure>
where
    F: FnMut(Paging) -> Fut,
    Fut: Future<Output = Result<SharePage, cairn_client::ClientError>>,
{
    let mut paging = Paging::default();
    let mut shares = Vec::new();
    loop {
        let answer = page(paging.clone()).await?;
        let empty = answer.shares.is_empty();
        shares.extend(answer.shares);
        match answer.next {
            // A page that brought nothing ends the walk even if it names a next page, so a
            // confused server cannot keep us looping.
            Some(next) if !empty => paging.after = Some(next),
            _ => return Ok(shares),
        }
    }
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Viewer => "viewer",
        Role::Editor => "editor",
    }
}
