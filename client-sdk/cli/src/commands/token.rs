//! `cairn token`: list your API tokens and sessions, make an API token for a program (shown
//! once), or revoke one by its id or a unique start of it.

use cairn_client::api::{TokenInfo, TokenKind, TokenView};
use serde::Serialize;

use crate::cli::TokenAction;
use crate::context::Context;
use crate::exit::Failure;
use crate::format::{duration, time};

/// The shortest id prefix `revoke` takes: 32 bits, so a typo does not hit another token.
const MIN_PREFIX: usize = 8;

/// What `token ls` answers.
#[derive(Serialize)]
struct Tokens {
    tokens: Vec<TokenInfo>,
}

/// What `token revoke` answers.
#[derive(Serialize)]
struct Revoked {
    id: String,
    revoked: bool,
}

/// Runs `action` (listing when none is given).
pub async fn token(ctx: &Context, action: Option<TokenAction>) -> Result<(), Failure> {
    let client = ctx.client()?;
    match action.unwrap_or(TokenAction::Ls) {
        TokenAction::Ls => {
            let answer = Tokens { tokens: client.tokens().await? };
            ctx.out.answer(&answer, |w| {
                for t in &answer.tokens {
                    let kind = match t.kind {
                        TokenKind::Api => "api",
                        TokenKind::Session => "session",
                    };
                    let ends = t.expires_ms.map_or("never".to_owned(), time);
                    let current = if t.current { "  (this one)" } else { "" };
                    writeln!(
                        w,
                        "{}  {kind:<7}  {:<24}  made {}  ends {ends}{current}",
                        &t.id[..16],
                        t.label,
                        time(t.created_ms)
                    )?;
                }
                Ok(())
            });
        }
        TokenAction::Add { label, expires } => {
            let expires = expires.as_deref().map(duration).transpose()?;
            let made: TokenView = client.add_token(&label, expires).await?;
            ctx.out.answer(&made, |w| {
                writeln!(w, "{}", made.token)?;
                let ends = made.expires_ms.map_or("never".to_owned(), time);
                writeln!(
                    w,
                    "# token {:.16} for {:?}, ends {ends}: shown once, keep it secret",
                    made.id, made.label
                )
            });
        }
        TokenAction::Revoke { id } => {
            let id = resolve(&client.tokens().await?, &id)?;
            client.revoke_token(&id).await?;
            let answer = Revoked { id, revoked: true };
            ctx.out.answer(&answer, |w| writeln!(w, "revoked token {}", answer.id));
        }
    }
    Ok(())
}

/// The one token whose id starts with `given` (at least [`MIN_PREFIX`] characters).
fn resolve(tokens: &[TokenInfo], given: &str) -> Result<String, Failure> {
    let given = given.trim().to_ascii_lowercase();
    if given.len() < MIN_PREFIX {
        return Err(Failure::usage(format!("give at least {MIN_PREFIX} characters of the token id")));
    }
    let matches: Vec<&TokenInfo> = tokens.iter().filter(|t| t.id.starts_with(&given)).collect();
    match matches.as_slice() {
        [one] => Ok(one.id.clone()),
        [] => Err(Failure::new(
            crate::exit::Exit::NotFound,
            "not_found",
            format!("no token of yours has an id starting {given:?}"),
        )),
        _ => Err(Failure::usage(format!(
            "{} tokens have ids starting {given:?}: give more of it",
            matches.len()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(id: &str) -> TokenInfo {
        TokenInfo {
            id: id.into(),
            label: String::new(),
            kind: TokenKind::Api,
            created_ms: 0,
            expires_ms: None,
            current: false,
        }
    }

    #[test]
    fn a_revoke_needs_one_token_by_a_long_enough_prefix() {
        let tokens = [token("abcdef0011"), token("abcdef0022"), token("99887766")];
        assert_eq!(resolve(&tokens, "ABCDEF00").unwrap_err().code, "usage");
        assert_eq!(resolve(&tokens, "abcdef002").unwrap(), "abcdef0022");
        assert_eq!(resolve(&tokens, "99887766").unwrap(), "99887766");
        assert!(resolve(&tokens, "abc").is_err());
        assert_eq!(resolve(&tokens, "00000000").unwrap_err().code, "not_found");
    }
}
