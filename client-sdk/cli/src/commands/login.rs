//! `cairn login`: sign in with a password (asked for without echo) or check a token read from
//! standard input or `CAIRN_TOKEN`, and save the profile; `cairn status` lives next door in
//! `status.rs`. Secrets never come from the command line, where `ps` shows them to everyone.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use cairn_client::api::UserView;
use cairn_client::{Client, ClientConfig};
use serde::Serialize;

use crate::cli::LoginArgs;
use crate::config::Profile;
use crate::context::{Context, env_token};
use crate::exit::Failure;

/// What `login` answers.
#[derive(Serialize)]
struct LoggedIn {
    user: UserView,
    nodes: Vec<String>,
    profile: PathBuf,
    /// `password` or `token`.
    with: &'static str,
}

/// Signs in through `--node`s (or the profile's nodes), trusting `--ca` (or the profile's CA),
/// and saves the profile only once the cluster accepted the credentials.
pub async fn login(ctx: &Context, args: &LoginArgs) -> Result<(), Failure> {
    let path = ctx.profile_path()?;
    let old = Profile::load(&path).ok().flatten();
    let nodes = match (&ctx.global.nodes, &old) {
        (nodes, _) if !nodes.is_empty() => nodes.clone(),
        (_, Some(old)) => old.nodes.clone(),
        (_, None) => {
            return Err(Failure::usage("login needs --node URL (repeat it for every node you know)"));
        }
    };
    let (ca_pem, ca_file) = match (ctx.ca_override()?, &old) {
        (Some(pem), _) => (Some(pem), None),
        (None, Some(old)) if ctx.global.nodes.is_empty() => (old.ca_pem.clone(), old.ca_file.clone()),
        (None, _) => (None, None),
    };
    // The profile's CA file is relative to its folder; the client needs its text.
    let base = path.parent().map(PathBuf::from).unwrap_or_default();
    let mut profile = Profile { nodes, token: String::new(), ca_pem, ca_file };
    profile.check_cluster().map_err(Failure::bad_input)?;
    let ca_text = profile.ca(&base)?;
    let nodes = profile.nodes.clone();

    let (token, with) = if args.token_stdin {
        (read_line("a token")?, "token")
    } else if let Some(token) = env_token() {
        (token, "token")
    } else {
        let mut config = ClientConfig::new(nodes.clone(), "");
        config.ca_pem = ca_text.clone();
        let anonymous = Client::new(config)?;
        let user = user_name(args)?;
        let password = password(args, &user)?;
        let label = args.label.clone().unwrap_or_else(default_label);
        let session = anonymous.sign_in(&user, &password, Some(&label)).await?;
        (session.token, "password")
    };

    let mut config = ClientConfig::new(nodes.clone(), token.clone());
    config.ca_pem = ca_text;
    let client = Client::new(config)?;
    let user = client.me().await?;

    profile.token = token;
    profile.check().map_err(Failure::bad_input)?;
    profile.save(&path)?;
    let answer = LoggedIn { user, nodes, profile: path, with };
    ctx.out.answer(&answer, |w| {
        let u = &answer.user;
        let admin = if u.admin { ", administrator" } else { "" };
        writeln!(w, "logged in as {} (user {}{admin}, drive {})", u.name, u.id, u.drive)?;
        writeln!(w, "profile saved to {} ({} nodes)", answer.profile.display(), answer.nodes.len())
    });
    Ok(())
}

fn user_name(args: &LoginArgs) -> Result<String, Failure> {
    if let Some(user) = &args.user {
        return Ok(user.clone());
    }
    if args.password_stdin || !std::io::stdin().is_terminal() {
        return Err(Failure::usage("login needs --user NAME (or --token-stdin for an API token)"));
    }
    eprint!("user: ");
    std::io::stderr().flush().ok();
    let name = read_line("a user name")?;
    Ok(name)
}

fn password(args: &LoginArgs, user: &str) -> Result<String, Failure> {
    if args.password_stdin {
        return read_line("a password");
    }
    if !std::io::stdin().is_terminal() {
        return Err(Failure::usage(
            "no terminal to ask for a password: pass --password-stdin, or --token-stdin for an API token",
        ));
    }
    rpassword::prompt_password(format!("password for {user}: "))
        .map_err(|e| Failure::io("read the password", std::path::Path::new("/dev/tty"), e))
}

/// The first line of standard input, without its line end; an empty one is refused.
pub fn read_line(what: &str) -> Result<String, Failure> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| Failure::io("read standard input", std::path::Path::new("-"), e))?;
    let line = line.trim_end_matches(['\r', '\n']).to_owned();
    if line.is_empty() {
        return Err(Failure::usage(format!("expected {what} on standard input, got nothing")));
    }
    Ok(line)
}

fn default_label() -> String {
    let host = std::fs::read_to_string("/etc/hostname").ok().map(|h| h.trim().to_owned());
    match host.filter(|h| !h.is_empty()) {
        Some(host) => format!("cairn on {host}").chars().take(64).collect(),
        None => "cairn login".into(),
    }
}
