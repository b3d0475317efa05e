//! Why the workspace could not be read; each case names what to look at.

use std::io;
use std::path::PathBuf;

/// A failure to read the workspace's crates or source files. None of these is retryable: each
/// means the tree or the toolchain is not what the check expects.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `cargo` could not be started.
    #[error("run `{command}`: {source}")]
    RunCargo {
        /// The command line, as it was run.
        command: String,
        /// Why it could not start.
        source: io::Error,
    },
    /// `cargo metadata` ran and failed.
    #[error("`{command}` failed ({status}): {stderr}")]
    CargoFailed {
        /// The command line, as it was run.
        command: String,
        /// Its exit status.
        status: String,
        /// What it wrote to stderr.
        stderr: String,
    },
    /// `cargo metadata` printed something that is not JSON.
    #[error("parse the output of `cargo metadata`: {0}")]
    MetadataJson(#[from] serde_json::Error),
    /// `cargo metadata` printed JSON without a field the check needs.
    #[error("the output of `cargo metadata` has no {0}")]
    MetadataShape(String),
    /// A source file could not be read.
    #[error("read {path}: {source}")]
    ReadSource {
        /// The file.
        path: PathBuf,
        /// Why it could not be read.
        source: io::Error,
    },
    /// A crate's root file does not exist.
    #[error("crate root {0} does not exist")]
    MissingRoot(PathBuf),
    /// A `mod name;` outside test code names a file that is not there.
    #[error("{file}:{line}: `mod {name};` has no file: looked for {looked_for}")]
    MissingModuleFile {
        /// The file holding the declaration.
        file: PathBuf,
        /// The declaration's line.
        line: u32,
        /// The module's name.
        name: String,
        /// The files tried, in order.
        looked_for: String,
    },
}
