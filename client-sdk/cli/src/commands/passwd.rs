//! `cairn passwd`: change your password. Both passwords are asked for without echo (or read
//! from the first two lines of standard input when it is not a terminal); sessions signed in
//! with the old password end, this one included, so the profile is signed in again.

use std::io::IsTerminal;

use serde::Serialize;

use super::login::read_line;
use crate::context::Context;
use crate::exit::Failure;

/// What `passwd` answers.
#[derive(Serialize)]
struct Changed {
    user: String,
    changed: bool,
}

/// Changes the caller's password.
pub async fn passwd(ctx: &Context) -> Result<(), Failure> {
    let client = ctx.client()?;
    let me = client.me().await?;
    let (current, new) = if std::io::stdin().is_terminal() {
        let ask = |prompt: &str| {
            rpassword::prompt_password(prompt)
                .map_err(|e| Failure::io("read a password", std::path::Path::new("/dev/tty"), e))
        };
        let current = ask("current password (empty if you have none): ")?;
        let new = ask("new password: ")?;
        if ask("new password again: ")? != new {
            return Err(Failure::usage("the two new passwords differ: nothing changed"));
        }
        (current, new)
    } else {
        (read_line("the current password")?, read_line("the new password")?)
    };
    let current = Some(current.as_str()).filter(|c| !c.is_empty());
    client.set_password(&me.name, &new, current).await?;
    let answer = Changed { user: me.name, changed: true };
    ctx.out.answer(&answer, |w| {
        writeln!(
            w,
            "password changed for {}; sign in again with `cairn login` if this profile held a session",
            answer.user
        )
    });
    Ok(())
}
