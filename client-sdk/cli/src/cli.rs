//! The command line as clap sees it: global flags, one subcommand per thing a drive does.
//! Parsing only; what each command does is in [`crate::commands`].

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::exit::EXIT_CODES_HELP;

/// `cairn`: use a cairn drive from the command line.
#[derive(Debug, Parser)]
#[command(name = "cairn", version, about, after_help = EXIT_CODES_HELP)]
pub struct Cli {
    /// Flags every command takes.
    #[command(flatten)]
    pub global: Global,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command takes, before or after the command's name.
#[derive(Debug, Args)]
pub struct Global {
    /// Print one JSON document on stdout (the answer, or {"error": …}) and nothing else there.
    #[arg(long, global = true)]
    pub json: bool,
    /// Show no progress and no notes on stderr (errors are still reported).
    #[arg(long, short, global = true)]
    pub quiet: bool,
    /// How to show transfer progress on stderr: a bar with rate and ETA when stderr is a
    /// terminal (auto), a plain line per percent done (for logs), or nothing.
    #[arg(long, global = true, value_enum, default_value_t = ProgressMode::Auto)]
    pub progress: ProgressMode,
    /// The profile file [default: <config dir>/cairn/config.toml].
    #[arg(long, global = true, env = "CAIRN_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// A node's base address (https://host:port); repeat for more. Overrides the profile's.
    #[arg(long = "node", global = true, value_name = "URL")]
    pub nodes: Vec<String>,
    /// The cluster CA certificate (PEM) to trust. Overrides the profile's.
    #[arg(long, global = true, value_name = "FILE")]
    pub ca: Option<PathBuf>,
    /// Work in a namespace shared with you (its number, from `cairn share --list`) instead of
    /// your own drive.
    #[arg(long, global = true, value_name = "N")]
    pub ns: Option<u64>,
}

/// How transfer progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProgressMode {
    /// A bar when stderr is a terminal and --quiet is not given; nothing otherwise.
    Auto,
    /// A plain line on stderr each time another percent is done.
    Lines,
    /// Nothing.
    None,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Sign in with your password (or check a token) and save the profile (--node…, --ca).
    Login(LoginArgs),
    /// List, make or revoke your API tokens and sessions.
    Token {
        /// What to do with your tokens (default: list them).
        #[command(subcommand)]
        action: Option<TokenAction>,
    },
    /// Change your password (asks for the current one and the new one).
    Passwd,
    /// Show the profile's nodes, which of them answer and how fast, and who you are.
    Status,
    /// List a folder (folders first; files in the trash with -a), or show a file.
    Ls(LsArgs),
    /// Upload a file, or a folder recursively, as new versions.
    Put(PutArgs),
    /// Download a file, or a folder recursively; `-` writes a file to stdout.
    Get(GetArgs),
    /// Back up the drive, or a folder, into a local folder: the head of every file at its
    /// path, and with --all-versions every older version too; a re-run fetches only what is
    /// missing or differs.
    #[command(long_about = EXPORT_HELP)]
    Export(ExportArgs),
    /// Make a folder and any missing folders above it.
    Mkdir {
        /// The folder to make.
        path: String,
    },
    /// Move or rename a file or folder.
    Mv {
        /// What to move.
        from: String,
        /// Its new path (which must not exist).
        to: String,
    },
    /// Move a file or folder to the trash.
    Rm {
        /// What to delete.
        path: String,
    },
    /// List the trash, restore from it, or purge for good.
    Trash {
        /// What to do with the trash (default: list it).
        #[command(subcommand)]
        action: Option<TrashAction>,
    },
    /// A file's versions, newest first.
    History {
        /// The file.
        path: String,
        /// At most this many versions.
        #[arg(long)]
        limit: Option<usize>,
    },
    /// Make an old version's content the file's new head.
    Restore {
        /// The file.
        path: String,
        /// The version to restore.
        #[arg(long)]
        version: u64,
        /// Only if the head is still this version (exit 4 otherwise).
        #[arg(long, value_name = "N")]
        if_version: Option<u64>,
    },
    /// Pin a version so history pruning keeps it (or unpin it).
    Pin {
        /// The file.
        path: String,
        /// The version.
        #[arg(long)]
        version: u64,
        /// Unpin instead.
        #[arg(long)]
        unpin: bool,
    },
    /// Share a folder or file with a user, revoke a share, or list shares.
    Share(ShareArgs),
    /// Publish a folder or file as a public read-only link, list links, or revoke one.
    Link(LinkArgs),
    /// Keep a local folder and a drive folder identical, in the foreground (or show a
    /// folder's sync status with `cairn sync status DIR`).
    Sync(SyncArgs),
    /// Print changes in the drive as they happen (with --json, one JSON object per line).
    Watch(WatchArgs),
}

/// `cairn ls`.
#[derive(Debug, Args)]
pub struct LsArgs {
    /// The folder or file [default: the root].
    #[arg(default_value = "/")]
    pub path: String,
    /// Long listing: each file's head version, size and state.
    #[arg(short, long)]
    pub long: bool,
    /// Also list files in the trash (their names stay taken until they are purged).
    #[arg(short, long)]
    pub all: bool,
}

/// `cairn put`.
#[derive(Debug, Args)]
pub struct PutArgs {
    /// The local file or folder.
    pub local: PathBuf,
    /// Where it goes [default: its name, at the root]; a folder (or a path ending in `/`):
    /// into it.
    pub remote: Option<String>,
    /// Commit only if the file's head is still this version (exit 4 otherwise).
    #[arg(long, value_name = "N", conflicts_with = "new")]
    pub if_version: Option<u64>,
    /// Commit only if the file does not exist yet (exit 4 otherwise).
    #[arg(long)]
    pub new: bool,
    /// Files of a folder uploaded at once.
    #[arg(long, short = 'j', value_name = "N", default_value_t = DEFAULT_JOBS, value_parser = jobs)]
    pub jobs: usize,
}

/// `cairn get`.
#[derive(Debug, Args)]
pub struct GetArgs {
    /// The file or folder in the drive.
    pub remote: String,
    /// Where to write it [default: its name, here]; an existing folder: into it; `-`: stdout.
    pub local: Option<PathBuf>,
    /// An older version than the head (files only).
    #[arg(long)]
    pub version: Option<u64>,
    /// Files of a folder downloaded at once.
    #[arg(long, short = 'j', value_name = "N", default_value_t = DEFAULT_JOBS, value_parser = jobs)]
    pub jobs: usize,
}

/// Files transferred at once by default. A small file costs a few round trips and almost no
/// bandwidth, so a folder of them moves as fast as requests overlap; 16 measured best for the
/// 2,000-file folder of BENCHMARKS.md on three local nodes.
pub const DEFAULT_JOBS: usize = 16;

/// The most files transferred at once: past it the nodes' connection and request caps bite.
const MAX_JOBS: usize = 256;

/// Parses `--jobs`: 1 to [`MAX_JOBS`].
fn jobs(raw: &str) -> Result<usize, String> {
    match raw.parse::<usize>() {
        Ok(n) if (1..=MAX_JOBS).contains(&n) => Ok(n),
        _ => Err(format!("a number of files from 1 to {MAX_JOBS}")),
    }
}

/// The long help of `cairn export`: what it writes, where.
const EXPORT_HELP: &str = "\
Back up the drive, or a folder of it, into a local folder: a user-level backup that needs no
operator.

The head of every file goes to its path under OUT_DIR, in the drive's folder structure (empty
folders too). With --all-versions, every older kept version of a file goes to
OUT_DIR/.cairn-versions/<its path>/v<N>. OUT_DIR/.cairn-export.json lists each file: its drive
path, file id, head, and each version held (number, size, blake3 hash, times, local path).

A re-run resumes: a version already there with the size and hash the drive declares is kept,
the rest is fetched. Each version is written to a temporary name and renamed into place once
its hash checked out, so an interrupted export leaves no truncated file. Names this disk cannot
hold are skipped and listed (exit code 9); versions that fail are listed with their error.

--archive FILE then packs the export (the files and folders its manifest lists, and the
manifest) into one tar file; OUT_DIR stays as the working copy a re-run resumes from.";

/// `cairn export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// [REMOTE_PATH] OUT_DIR: the drive folder to export [default: the whole drive], and the
    /// local folder to write into (made if missing). (One list, as clap takes no optional
    /// positional before a required one.)
    #[arg(value_name = "PATH", num_args = 1..=2, required = true)]
    pub paths: Vec<PathBuf>,
    /// Also export every older kept version of each file, under OUT_DIR/.cairn-versions/.
    #[arg(long)]
    pub all_versions: bool,
    /// Then also pack what the export holds (as its manifest lists it) into this tar file.
    #[arg(long, value_name = "FILE")]
    pub archive: Option<PathBuf>,
}

impl ExportArgs {
    /// The drive folder to export, as typed (`None`: the whole drive).
    pub fn remote(&self) -> Option<&std::path::Path> {
        match self.paths.as_slice() {
            [remote, _] => Some(remote),
            _ => None,
        }
    }

    /// The local folder to write into.
    pub fn out(&self) -> &std::path::Path {
        self.paths.last().map_or(std::path::Path::new("."), PathBuf::as_path)
    }
}

/// `cairn trash …`.
#[derive(Debug, Subcommand)]
pub enum TrashAction {
    /// List the trashed files.
    Ls,
    /// Restore a trashed file, or every trashed file below a folder.
    Restore {
        /// The file or folder.
        path: String,
    },
    /// Delete for good a trashed file, or every trashed file below a folder.
    Purge {
        /// The file or folder.
        path: String,
    },
}

/// A share's role on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RoleArg {
    /// List, stat, download.
    Viewer,
    /// Also upload, make folders, delete, publish links.
    Editor,
}

/// `cairn share`.
#[derive(Debug, Args)]
pub struct ShareArgs {
    /// The folder or file to share.
    #[arg(required_unless_present = "list")]
    pub path: Option<String>,
    /// The login name of the user to share it with.
    #[arg(required_unless_present = "list")]
    pub user: Option<String>,
    /// The user's role.
    #[arg(long, value_enum, default_value_t = RoleArg::Viewer, conflicts_with_all = ["revoke", "list"])]
    pub role: RoleArg,
    /// End the share of PATH with USER instead.
    #[arg(long, conflicts_with = "list")]
    pub revoke: bool,
    /// List the shares you gave and the ones you received.
    #[arg(long, conflicts_with_all = ["path", "user"])]
    pub list: bool,
}

/// `cairn link`.
#[derive(Debug, Args)]
pub struct LinkArgs {
    /// The folder or file to publish; with --revoke, the link's id.
    #[arg(required_unless_present = "list")]
    pub target: Option<String>,
    /// A password the link asks for.
    #[arg(long, conflicts_with = "revoke")]
    pub password: Option<String>,
    /// When the link stops working: a duration such as 30m, 12h, 7d or 2w.
    #[arg(long, value_name = "DURATION", conflicts_with = "revoke")]
    pub expires: Option<String>,
    /// Revoke the link whose id is TARGET.
    #[arg(long, conflicts_with = "list")]
    pub revoke: bool,
    /// List the links on what you own (your editors' too) and the links you made.
    #[arg(long, conflicts_with_all = ["target", "password", "expires"])]
    pub list: bool,
}

/// `cairn sync`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct SyncArgs {
    /// Something other than syncing.
    #[command(subcommand)]
    pub action: Option<SyncAction>,
    /// The local folder to keep in step (made if missing).
    #[arg(required = true)]
    pub dir: Option<PathBuf>,
    /// The drive folder to keep it in step with [default: the whole drive]. A folder is
    /// always synced with the same drive folder.
    #[arg(long, value_name = "PATH")]
    pub remote: Option<String>,
    /// This device's name in conflicted copies [default: $CAIRN_DEVICE, else the host name].
    #[arg(long, value_name = "NAME")]
    pub device: Option<String>,
    /// Let the first pass delete in the drive even if that is most of the folder (a pass
    /// that would is otherwise held back until `cairn sync resume`).
    #[arg(long)]
    pub confirm_deletes: bool,
    /// A pass that would delete in the drive more than this share of the synced files is held
    /// back [default: 50; 100 turns the guard off].
    #[arg(long, value_name = "PERCENT", value_parser = clap::value_parser!(u8).range(0..=100))]
    pub delete_guard_percent: Option<u8>,
    /// ... and at least this many files [default: 20].
    #[arg(long, value_name = "FILES")]
    pub delete_guard_files: Option<usize>,
}

/// `cairn sync …`.
#[derive(Debug, Subcommand)]
pub enum SyncAction {
    /// Show what the sync of a folder is doing (or did last), and what waits.
    Status {
        /// The synced folder.
        dir: PathBuf,
    },
    /// Let deletes in the drive that a sync held back (most of the folder at once) go on: the
    /// sync running on the folder goes on at once, else the next one does.
    Resume {
        /// The synced folder.
        dir: PathBuf,
    },
}

/// `cairn watch`.
#[derive(Debug, Args)]
pub struct WatchArgs {
    /// Start after this journal position [default: the newest change, so only what happens
    /// from now on is printed].
    #[arg(long, value_name = "SEQ")]
    pub from: Option<u64>,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn export_takes_an_optional_drive_folder_before_the_local_one() {
        use clap::Parser;

        use super::Command;
        let cli = Cli::try_parse_from(["cairn", "export", "out", "--all-versions"]).unwrap();
        let Command::Export(args) = cli.command else { panic!() };
        assert_eq!((args.remote(), args.out().to_str(), args.all_versions), (None, Some("out"), true));
        let cli = Cli::try_parse_from(["cairn", "export", "/docs", "out"]).unwrap();
        let Command::Export(args) = cli.command else { panic!() };
        assert_eq!(
            (args.remote().and_then(|r| r.to_str()), args.out().to_str()),
            (Some("/docs"), Some("out"))
        );
        assert!(Cli::try_parse_from(["cairn", "export"]).is_err());
        assert!(Cli::try_parse_from(["cairn", "export", "a", "b", "c"]).is_err());
    }

    #[test]
    fn sync_takes_a_folder_or_the_status_subcommand() {
        use clap::Parser;

        use super::{Command, SyncAction};
        let cli = Cli::try_parse_from(["cairn", "sync", "docs", "--remote", "/Docs"]).unwrap();
        let Command::Sync(args) = cli.command else { panic!() };
        assert_eq!((args.dir.unwrap().to_str(), args.remote.as_deref()), (Some("docs"), Some("/Docs")));
        let cli = Cli::try_parse_from(["cairn", "sync", "status", "docs"]).unwrap();
        let Command::Sync(args) = cli.command else { panic!() };
        assert!(matches!(args.action, Some(SyncAction::Status { .. })));
        let cli = Cli::try_parse_from(["cairn", "sync", "resume", "docs"]).unwrap();
        let Command::Sync(args) = cli.command else { panic!() };
        assert!(matches!(args.action, Some(SyncAction::Resume { .. })));
        let cli = Cli::try_parse_from([
            "cairn",
            "sync",
            "docs",
            "--confirm-deletes",
            "--delete-guard-percent",
            "80",
        ]);
        let Command::Sync(args) = cli.unwrap().command else { panic!() };
        assert!(args.confirm_deletes && args.delete_guard_percent == Some(80));
        assert!(Cli::try_parse_from(["cairn", "sync", "docs", "--delete-guard-percent", "101"]).is_err());
        assert!(Cli::try_parse_from(["cairn", "sync"]).is_err());
    }
}

/// `cairn login`: a password sign-in by default. A token for programs comes from standard
/// input or `CAIRN_TOKEN`, never from the command line, where `ps` would show it.
#[derive(Debug, Args)]
pub struct LoginArgs {
    /// Your user name (asked for when missing and a terminal is there).
    #[arg(long, short)]
    pub user: Option<String>,
    /// Read the password from the first line of standard input instead of asking for it.
    #[arg(long, conflicts_with = "token_stdin")]
    pub password_stdin: bool,
    /// Log in with an API token read from the first line of standard input (no password).
    #[arg(long)]
    pub token_stdin: bool,
    /// What the session is for, in your token list [default: cairn on HOSTNAME].
    #[arg(long)]
    pub label: Option<String>,
}

/// What `cairn token` does.
#[derive(Debug, Subcommand)]
pub enum TokenAction {
    /// List your API tokens and sessions (never the tokens themselves).
    Ls,
    /// Make an API token for a program; it is shown once. Needs a password sign-in.
    Add {
        /// What it is for ("backup script on the NAS").
        label: String,
        /// It stops working after this long: 30m, 12h, 7d, 2w [default: when revoked].
        #[arg(long, value_name = "DURATION")]
        expires: Option<String>,
    },
    /// Revoke a token or session by its id (or a unique start of it, 8 characters or more).
    Revoke {
        /// The id, from `cairn token ls`.
        id: String,
    },
}
