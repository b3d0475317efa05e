//! What is not synced: the engine's own files, temporary and editor swap files, and whatever
//! `.cairnignore` files say (gitignore syntax, matched by ripgrep's `ignore` crate). One set of
//! rules judges both sides, so a file ignored here is neither uploaded nor downloaded, and
//! never deleted on either side because the other "lacks" it.
//!
//! `.cairnignore` files stay local, as Syncthing's `.stignore` does: each device decides what it
//! keeps out. A pattern in a deeper `.cairnignore` overrides a shallower one (`!keep.log`
//! re-includes what a parent's `*.log` excluded), as in git.

use std::collections::BTreeMap;
use std::path::Path;

use ignore::Match;
use ignore::gitignore::{Gitignore, GitignoreBuilder};

use super::state::STATE_DIR;

/// The name of an ignore file.
pub const IGNORE_FILE: &str = ".cairnignore";

/// Ignored everywhere, before any `.cairnignore`: the engine's own folder and download temp
/// files, ignore files themselves, and the temporary and lock files editors and systems make.
pub const BUILT_IN: &[&str] = &[
    "/.cairn/",
    ".cairn-*.part",
    ".cairnignore",
    "*.tmp",
    "~$*",
    ".~lock.*#",
    ".*.swp",
    ".*.swx",
    "*~",
    ".DS_Store",
    "Thumbs.db",
    "desktop.ini",
];

/// The ignore rules of one synced folder.
#[derive(Debug, Clone)]
pub struct Rules {
    built_in: Gitignore,
    /// Each `.cairnignore` by the relative path of its folder ("" for the top).
    files: BTreeMap<String, Gitignore>,
}

impl Rules {
    /// The built-in rules only.
    pub fn built_in() -> Self {
        let mut builder = GitignoreBuilder::new("");
        for line in BUILT_IN {
            // The built-in patterns are fixed and valid; one that were not would match nothing.
            let _ = builder.add_line(None, line);
        }
        Self { built_in: builder.build().unwrap_or_else(|_| Gitignore::empty()), files: BTreeMap::new() }
    }

    /// Reads the `.cairnignore` of the folder `dir` (relative; "" for the top), if it has one.
    /// A pattern that does not parse is skipped with a warning; the rest still apply.
    pub fn load_dir(&mut self, root: &Path, dir: &str) {
        let folder = if dir.is_empty() { root.to_path_buf() } else { root.join(dir) };
        let file = folder.join(IGNORE_FILE);
        if !file.is_file() {
            self.files.remove(dir);
            return;
        }
        let (matcher, error) = Gitignore::new(&file);
        if let Some(error) = error {
            tracing::warn!(file = %file.display(), %error, "some ignore patterns were not understood");
        }
        self.files.insert(dir.to_owned(), matcher);
    }

    /// Whether the relative path `path` (a folder if `is_dir`) is left out of sync, by itself
    /// or because a folder above it is.
    pub fn is_ignored(&self, path: &str, is_dir: bool) -> bool {
        if path == STATE_DIR || path.is_empty() {
            return path == STATE_DIR;
        }
        if self.built_in.matched_path_or_any_parents(path, is_dir).is_ignore() {
            return true;
        }
        // The deepest ignore file with an opinion decides.
        for (dir, matcher) in self.files.iter().rev() {
            let relative = if dir.is_empty() {
                path
            } else if let Some(rest) = path.strip_prefix(dir.as_str()).and_then(|r| r.strip_prefix('/')) {
                rest
            } else {
                continue;
            };
            match matcher.matched_path_or_any_parents(relative, is_dir) {
                Match::Ignore(_) => return true,
                Match::Whitelist(_) => return false,
                Match::None => {}
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn temporary_and_own_files_are_ignored_by_default() {
        let rules = Rules::built_in();
        for path in [
            ".cairn",
            ".cairn/state.redb",
            "a/.cairn-x1y2.part",
            "doc/~$report.docx",
            "a/.notes.txt.swp",
            "draft.txt~",
            "x.tmp",
            "pics/.DS_Store",
            "Thumbs.db",
            ".cairnignore",
        ] {
            assert!(rules.is_ignored(path, false), "{path}");
        }
        for path in ["notes.txt", "a/.cairn", ".bashrc", "tmp/x", "a/b.swp"] {
            assert!(!rules.is_ignored(path, false), "{path}");
        }
    }

    #[test]
    fn ignore_files_apply_below_their_folder_and_deeper_ones_win() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(IGNORE_FILE), "*.log\nbuild/\n").unwrap();
        std::fs::create_dir_all(dir.path().join("app")).unwrap();
        std::fs::write(dir.path().join("app").join(IGNORE_FILE), "!keep.log\n/secret\n").unwrap();
        let mut rules = Rules::built_in();
        rules.load_dir(dir.path(), "");
        rules.load_dir(dir.path(), "app");
        assert!(rules.is_ignored("x.log", false));
        assert!(rules.is_ignored("a/b/x.log", false));
        assert!(rules.is_ignored("build", true));
        assert!(rules.is_ignored("build/out/x.o", false));
        assert!(!rules.is_ignored("build", false));
        assert!(!rules.is_ignored("app/keep.log", false));
        assert!(rules.is_ignored("app/other.log", false));
        assert!(rules.is_ignored("app/secret", false));
        assert!(!rules.is_ignored("secret", false));
        assert!(!rules.is_ignored("app/x/secret", false));
    }
}
