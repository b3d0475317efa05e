//! The workspace's crates and their dependencies on each other, as `cargo metadata` reports them.
//!
//! `--no-deps` is enough: only the workspace's own crates and the dependencies they declare
//! matter, and it needs neither the network nor a resolved lock file.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::Error;

/// The workspace as the check sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workspace {
    /// The directory holding the workspace's `Cargo.toml`.
    pub root: PathBuf,
    /// Every workspace member, in the order `cargo metadata` lists them.
    pub crates: Vec<WorkspaceCrate>,
}

/// One workspace member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkspaceCrate {
    /// The package name, such as `cairn-raft`.
    pub name: String,
    /// The directory holding its `Cargo.toml`.
    pub dir: PathBuf,
    /// Its dependencies on other workspace members; the rest are not the check's business.
    pub deps: Vec<CrateDep>,
    /// The root files of its targets under `src/` (the library, binaries): the trees whose
    /// module cycles count. Tests, benches and examples each stand alone and are left out.
    pub src_roots: Vec<PathBuf>,
}

/// A dependency of one workspace member on another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrateDep {
    /// The package depended on.
    pub name: String,
    /// Which section of the manifest declares it.
    pub kind: DepKind,
}

/// The manifest section a dependency is declared in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum DepKind {
    /// `[dependencies]`.
    Normal,
    /// `[dev-dependencies]`: tests, benches and examples only.
    Dev,
    /// `[build-dependencies]`.
    Build,
}

impl std::fmt::Display for DepKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DepKind::Normal => "[dependencies]",
            DepKind::Dev => "[dev-dependencies]",
            DepKind::Build => "[build-dependencies]",
        })
    }
}

/// The workspace root: this crate lives at `tools/layering/`, two levels below it.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("..")
}

/// Runs `cargo metadata` on the workspace at `root` and reads its crates. `cargo` is the one in
/// the `CARGO` environment variable when set (the one running the tests), else the one on `PATH`.
pub fn read_workspace(root: &Path) -> Result<Workspace, Error> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let manifest = root.join("Cargo.toml");
    let mut command = Command::new(&cargo);
    command.args(["metadata", "--format-version", "1", "--no-deps", "--manifest-path"]).arg(&manifest);
    let shown = format!(
        "{} metadata --format-version 1 --no-deps --manifest-path {}",
        Path::new(&cargo).display(),
        manifest.display()
    );
    let output = command.output().map_err(|source| Error::RunCargo { command: shown.clone(), source })?;
    if !output.status.success() {
        return Err(Error::CargoFailed {
            command: shown,
            status: output.status.to_string(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        });
    }
    parse_metadata(&String::from_utf8_lossy(&output.stdout))
}

/// Reads the JSON that `cargo metadata --format-version 1 --no-deps` prints.
pub fn parse_metadata(json: &str) -> Result<Workspace, Error> {
    let metadata: Value = serde_json::from_str(json)?;
    let root = PathBuf::from(text(&metadata, "workspace_root")?);
    let members: Vec<&str> = list(&metadata, "workspace_members")?.iter().filter_map(Value::as_str).collect();
    let packages: Vec<&Value> = list(&metadata, "packages")?
        .iter()
        .filter(|p| p["id"].as_str().is_some_and(|id| members.contains(&id)))
        .collect();
    let names: Vec<&str> = packages.iter().filter_map(|p| p["name"].as_str()).collect();
    let mut crates = Vec::new();
    for package in packages {
        let manifest = PathBuf::from(text(package, "manifest_path")?);
        let dir = manifest.parent().map(Path::to_path_buf).unwrap_or_default();
        let mut deps = Vec::new();
        for dep in list(package, "dependencies")? {
            let name = text(dep, "name")?;
            // A path dependency on a member; a registry crate that happens to share a name has no
            // `path`.
            if !names.contains(&name) || dep["path"].is_null() {
                continue;
            }
            let kind = match dep["kind"].as_str() {
                Some("dev") => DepKind::Dev,
                Some("build") => DepKind::Build,
                _ => DepKind::Normal,
            };
            let dep = CrateDep { name: name.to_owned(), kind };
            if !deps.contains(&dep) {
                deps.push(dep);
            }
        }
        let src = dir.join("src");
        let mut src_roots = Vec::new();
        for target in list(package, "targets")? {
            let path = PathBuf::from(text(target, "src_path")?);
            let standalone = target["kind"].as_array().is_some_and(|kinds| {
                kinds
                    .iter()
                    .any(|k| matches!(k.as_str(), Some("test" | "bench" | "example" | "custom-build")))
            });
            if path.starts_with(&src) && !standalone && !src_roots.contains(&path) {
                src_roots.push(path);
            }
        }
        crates.push(WorkspaceCrate { name: text(package, "name")?.to_owned(), dir, deps, src_roots });
    }
    Ok(Workspace { root, crates })
}

fn text<'a>(value: &'a Value, field: &str) -> Result<&'a str, Error> {
    value[field].as_str().ok_or_else(|| Error::MetadataShape(format!("`{field}` string")))
}

fn list<'a>(value: &'a Value, field: &str) -> Result<&'a Vec<Value>, Error> {
    value[field].as_array().ok_or_else(|| Error::MetadataShape(format!("`{field}` list")))
}

#[cfg(test)]
mod tests {
    use super::*;

    const METADATA: &str = r#"{
        "workspace_root": "/w",
        "workspace_members": ["path+file:///w/a#a@0.1.0", "path+file:///w/b#b@0.1.0"],
        "packages": [
            {"name": "a", "id": "path+file:///w/a#a@0.1.0", "manifest_path": "/w/a/Cargo.toml",
             "dependencies": [],
             "targets": [{"kind": ["lib"], "src_path": "/w/a/src/lib.rs"},
                         {"kind": ["test"], "src_path": "/w/a/tests/t.rs"}]},
            {"name": "b", "id": "path+file:///w/b#b@0.1.0", "manifest_path": "/w/b/Cargo.toml",
             "dependencies": [
                {"name": "a", "kind": null, "path": "/w/a"},
                {"name": "a", "kind": "dev", "path": "/w/a"},
                {"name": "serde", "kind": null},
                {"name": "a", "kind": "build", "path": "/w/a"}],
             "targets": [{"kind": ["bin"], "src_path": "/w/b/src/main.rs"},
                         {"kind": ["bin"], "src_path": "/w/b/src/bin/tool.rs"},
                         {"kind": ["example"], "src_path": "/w/b/examples/e.rs"}]}
        ]
    }"#;

    #[test]
    fn members_their_workspace_dependencies_and_src_roots_are_read() {
        let ws = parse_metadata(METADATA).unwrap();
        assert_eq!(ws.root, PathBuf::from("/w"));
        let a = &ws.crates[0];
        assert_eq!((a.name.as_str(), a.src_roots.clone()), ("a", vec![PathBuf::from("/w/a/src/lib.rs")]));
        let b = &ws.crates[1];
        let kinds: Vec<_> = b.deps.iter().map(|d| (d.name.as_str(), d.kind)).collect();
        assert_eq!(kinds, [("a", DepKind::Normal), ("a", DepKind::Dev), ("a", DepKind::Build)]);
        assert_eq!(b.src_roots, [PathBuf::from("/w/b/src/main.rs"), PathBuf::from("/w/b/src/bin/tool.rs")]);
    }

    #[test]
    fn metadata_without_a_needed_field_is_an_error_not_a_panic() {
        let err = parse_metadata(r#"{"workspace_root": "/w", "packages": []}"#).unwrap_err();
        assert!(err.to_string().contains("workspace_members"), "{err}");
    }
}
