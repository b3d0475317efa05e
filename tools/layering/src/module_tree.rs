//! A crate's module tree, found from its root file the way the compiler finds module files, and
//! the file-to-file references its imports make once names are resolved through it.
//!
//! Resolution follows imports to where an item is defined: when `drive.rs` takes `super::Txn`
//! and `model/mod.rs` only has `pub use txn::Txn`, the reference is to `txn.rs`, not `mod.rs`.
//! So a `pub use` that only re-exports is no reference of its re-exporting file (the files that
//! name the item through it reach the defining file instead); it counts when the file's own code
//! uses the name too. Importing a module (`use super::blocks;`) is no reference by itself either:
//! the paths written through it (`blocks::decode`) are.
//!
//! Glob imports are kept simple. A private `use super::*` outside test code refers to the module
//! it names as a whole, because which of its names the code then uses would take real name
//! resolution; a `pub use child::*` re-export is, like any re-export, no reference of its own,
//! but names are looked up through it. A name that cannot be found in a module of the crate (one
//! a macro makes, say) is taken to be defined in that module's file.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use crate::Error;
use crate::imports::{CodePath, ModuleSyntax, UseLeaf, parse_file};

/// Where source text comes from: the disk, or a map of files in the unit tests.
pub(crate) trait Sources {
    /// The file's text, or `None` when there is no such file.
    fn read(&self, path: &Path) -> Result<Option<String>, Error>;
}

/// The real files.
pub(crate) struct Disk;

impl Sources for Disk {
    fn read(&self, path: &Path) -> Result<Option<String>, Error> {
        match std::fs::read_to_string(path) {
            Ok(text) => Ok(Some(text)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(Error::ReadSource { path: path.to_path_buf(), source }),
        }
    }
}

/// One reference from a file to another: where it is written and what it names.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Reference {
    /// The line in the referring file.
    pub line: u32,
    /// The path as written, such as `super::journal::ChangeKind` or `crate::model::Txn`.
    pub path: String,
}

/// A file-to-file reference found in a crate.
pub(crate) struct FileReference {
    pub(crate) from: PathBuf,
    pub(crate) to: PathBuf,
    pub(crate) reference: Reference,
}

struct Module {
    parent: Option<usize>,
    file: PathBuf,
    children: BTreeMap<String, usize>,
    syntax: ModuleSyntax,
    /// What the module's `use` declarations at module level bind: name → path as written.
    bindings: BTreeMap<String, Vec<String>>,
    /// What `use` declarations inside the module's functions bind: seen only by its own code.
    local_bindings: BTreeMap<String, Vec<String>>,
    /// The paths of the module's glob imports at module level.
    globs: Vec<Vec<String>>,
}

/// Where a path leads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    /// A module of this crate.
    Module(usize),
    /// An item defined in (the file of) this module.
    Item(usize),
    /// Another crate, or nothing this check can see.
    Outside,
}

/// The modules of one crate target, the root first.
pub(crate) struct ModuleTree {
    modules: Vec<Module>,
}

impl ModuleTree {
    /// Reads the crate whose root file is `root` and every module file it declares, leaving out
    /// modules that only test builds compile.
    pub(crate) fn load(root: &Path, sources: &dyn Sources) -> Result<Self, Error> {
        let text = sources.read(root)?.ok_or_else(|| Error::MissingRoot(root.to_path_buf()))?;
        let syntax = parse_file(&text);
        let mut tree = ModuleTree { modules: Vec::new() };
        if !syntax.test_only {
            let dir = root.parent().unwrap_or(Path::new("")).to_path_buf();
            tree.add_module(syntax, None, root, &dir, false, sources)?;
        }
        Ok(tree)
    }

    /// Adds a module and, depth first, the modules it declares. `children_dir` is where its
    /// `mod x;` files live; `inline` says it is a `mod x { … }` inside its file.
    fn add_module(
        &mut self,
        mut syntax: ModuleSyntax,
        parent: Option<usize>,
        file: &Path,
        children_dir: &Path,
        inline: bool,
        sources: &dyn Sources,
    ) -> Result<usize, Error> {
        let id = self.modules.len();
        let decls = std::mem::take(&mut syntax.mods);
        let (bindings, local_bindings, globs) = bindings_of(&syntax.uses);
        self.modules.push(Module {
            parent,
            file: file.to_path_buf(),
            children: BTreeMap::new(),
            syntax,
            bindings,
            local_bindings,
            globs,
        });
        for decl in decls {
            let child = if let Some(body) = decl.inline {
                self.add_module(body, Some(id), file, &children_dir.join(&decl.name), true, sources)?
            } else {
                // `#[path]` is relative to the declaring file's folder, or to the inline module's
                // folder when declared inside one.
                let candidates = match &decl.path_attr {
                    Some(path) if inline => vec![children_dir.join(path)],
                    Some(path) => vec![file.parent().unwrap_or(Path::new("")).join(path)],
                    None => vec![
                        children_dir.join(format!("{}.rs", decl.name)),
                        children_dir.join(&decl.name).join("mod.rs"),
                    ],
                };
                let mut found = None;
                for candidate in &candidates {
                    if let Some(text) = sources.read(candidate)? {
                        found = Some((candidate.clone(), text));
                        break;
                    }
                }
                let Some((child_file, text)) = found else {
                    let looked_for = candidates.iter().map(|c| c.display().to_string()).collect::<Vec<_>>();
                    return Err(Error::MissingModuleFile {
                        file: file.to_path_buf(),
                        line: decl.line,
                        name: decl.name,
                        looked_for: looked_for.join(", "),
                    });
                };
                let child_syntax = parse_file(&text);
                if child_syntax.test_only {
                    continue;
                }
                let child_dir = children_dir_of(&child_file);
                self.add_module(child_syntax, Some(id), &child_file, &child_dir, false, sources)?
            };
            self.modules[id].children.insert(decl.name, child);
        }
        Ok(id)
    }

    /// Every reference from one file of the crate to another.
    pub(crate) fn references(&self) -> Vec<FileReference> {
        let mut out = Vec::new();
        for (id, module) in self.modules.iter().enumerate() {
            for leaf in &module.syntax.uses {
                // A re-export whose name this file's own code never mentions: see the module doc.
                let reexport_only = leaf.public
                    && (leaf.glob
                        || leaf.binds.as_ref().is_some_and(|name| !module.syntax.idents.contains(name)));
                if reexport_only {
                    continue;
                }
                let target = self.resolve(id, &leaf.path, !leaf.module_level, &mut Vec::new());
                let file = match target {
                    Target::Module(m) if leaf.glob => Some(m),
                    Target::Item(m) => Some(m),
                    Target::Module(_) | Target::Outside => None,
                };
                let shown =
                    if leaf.glob { format!("{}::*", leaf.path.join("::")) } else { leaf.path.join("::") };
                self.push_reference(&mut out, id, file, leaf.line, shown);
            }
            for CodePath { segments, line } in &module.syntax.paths {
                let file = match self.resolve(id, segments, true, &mut Vec::new()) {
                    Target::Module(m) | Target::Item(m) => Some(m),
                    Target::Outside => None,
                };
                self.push_reference(&mut out, id, file, *line, segments.join("::"));
            }
        }
        out
    }

    fn push_reference(
        &self,
        out: &mut Vec<FileReference>,
        from: usize,
        to: Option<usize>,
        line: u32,
        path: String,
    ) {
        let Some(to) = to else { return };
        let (from, to) = (&self.modules[from].file, &self.modules[to].file);
        if from != to {
            out.push(FileReference {
                from: from.clone(),
                to: to.clone(),
                reference: Reference { line, path },
            });
        }
    }

    /// Follows `path`, written in module `from`, to what it names. `local` lets the first segment
    /// be a name that a `use` inside one of the module's functions binds.
    fn resolve(&self, from: usize, path: &[String], local: bool, stack: &mut Vec<(usize, String)>) -> Target {
        let Some(first) = path.first() else { return Target::Module(from) };
        let (start, rest) = match first.as_str() {
            "::" => return Target::Outside,
            "crate" | "$crate" => (0, &path[1..]),
            "super" | "self" => (from, path),
            name => match self.lookup(from, name, path.len() == 1, local, stack) {
                Some(Target::Module(m)) => (m, &path[1..]),
                Some(other) => return other,
                // Not a name of this module: another crate (or the prelude).
                None => return Target::Outside,
            },
        };
        let mut current = start;
        for (i, segment) in rest.iter().enumerate() {
            match segment.as_str() {
                "super" => match self.modules[current].parent {
                    Some(parent) => current = parent,
                    None => return Target::Outside,
                },
                "self" => {}
                name => match self.lookup(current, name, i + 1 == rest.len(), false, stack) {
                    Some(Target::Module(m)) => current = m,
                    Some(other) => return other,
                    None => return Target::Item(current),
                },
            }
        }
        Target::Module(current)
    }

    /// What `name` means in module `m`. `last` says nothing follows it in the path: then an item
    /// of that name (a function `apply` re-exported beside the module `apply`) wins over a child
    /// module; before more segments, only a module can be meant. `stack` holds the lookups in
    /// progress, so that imports that lead back to themselves end.
    fn lookup(
        &self,
        m: usize,
        name: &str,
        last: bool,
        local: bool,
        stack: &mut Vec<(usize, String)>,
    ) -> Option<Target> {
        let module = &self.modules[m];
        let child = module.children.get(name).copied().map(Target::Module);
        if !last && child.is_some() {
            return child;
        }
        let defined = module.syntax.defs.contains(name).then_some(Target::Item(m));
        let key = (m, name.to_owned());
        if stack.contains(&key) {
            return child.or(defined);
        }
        stack.push(key);
        let bound = module.bindings.get(name).or(if local { module.local_bindings.get(name) } else { None });
        let found = match bound {
            Some(path) => Some(self.resolve(m, path, false, stack)),
            None => child.or(defined).or_else(|| {
                module.globs.iter().find_map(|glob| match self.resolve(m, glob, false, stack) {
                    Target::Module(g) if g != m => self.lookup(g, name, last, false, stack),
                    _ => None,
                })
            }),
        };
        stack.pop();
        found
    }
}

/// Where the files of a module file's own `mod x;` declarations live: beside it for `mod.rs`
/// (and crate roots, which are handled by the caller), in a folder named after it otherwise.
fn children_dir_of(file: &Path) -> PathBuf {
    let dir = file.parent().unwrap_or(Path::new(""));
    match file.file_stem().and_then(|s| s.to_str()) {
        Some("mod") | None => dir.to_path_buf(),
        Some(stem) => dir.join(stem),
    }
}

type Bindings = BTreeMap<String, Vec<String>>;

fn bindings_of(uses: &[UseLeaf]) -> (Bindings, Bindings, Vec<Vec<String>>) {
    let (mut bindings, mut local_bindings, mut globs) = (Bindings::new(), Bindings::new(), Vec::new());
    for leaf in uses {
        match (&leaf.binds, leaf.glob, leaf.module_level) {
            (_, true, true) => globs.push(leaf.path.clone()),
            (Some(name), false, true) => {
                bindings.insert(name.clone(), leaf.path.clone());
            }
            (Some(name), false, false) => {
                local_bindings.insert(name.clone(), leaf.path.clone());
            }
            _ => {}
        }
    }
    (bindings, local_bindings, globs)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    impl Sources for BTreeMap<PathBuf, String> {
        fn read(&self, path: &Path) -> Result<Option<String>, Error> {
            Ok(self.get(path).cloned())
        }
    }

    fn edges(files: &[(&str, &str)]) -> BTreeSet<(String, String, String)> {
        let sources: BTreeMap<PathBuf, String> =
            files.iter().map(|(path, text)| (PathBuf::from(path), (*text).to_owned())).collect();
        let tree = ModuleTree::load(Path::new(files[0].0), &sources).unwrap();
        tree.references()
            .into_iter()
            .map(|r| (r.from.display().to_string(), r.to.display().to_string(), r.reference.path))
            .collect()
    }

    fn edge(from: &str, to: &str, path: &str) -> (String, String, String) {
        (from.to_owned(), to.to_owned(), path.to_owned())
    }

    #[test]
    fn a_name_taken_from_the_parent_leads_to_the_file_it_re_exports() {
        let found = edges(&[
            ("src/lib.rs", "mod model;"),
            (
                "src/model/mod.rs",
                "mod drive; mod txn; mod users;\npub use txn::{Txn, decode as txn_decode};\npub use users::UserId as Uid;",
            ),
            ("src/model/drive.rs", "use super::{Txn, Uid};\nfn f() { super::txn_decode(); }"),
            ("src/model/txn.rs", "pub struct Txn; pub fn decode() {}"),
            ("src/model/users.rs", "pub struct UserId;"),
        ]);
        let expected = BTreeSet::from([
            edge("src/model/drive.rs", "src/model/txn.rs", "super::Txn"),
            edge("src/model/drive.rs", "src/model/users.rs", "super::Uid"),
            edge("src/model/drive.rs", "src/model/txn.rs", "super::txn_decode"),
        ]);
        assert_eq!(found, expected, "re-exports must not route through mod.rs");
    }

    #[test]
    fn a_re_export_counts_for_its_own_file_only_when_that_file_uses_the_name() {
        let found = edges(&[
            ("src/lib.rs", "mod a; mod b;\npub use a::Only;\npub use b::Used;\nfn f(_: Used) {}"),
            ("src/a.rs", "pub struct Only;"),
            ("src/b.rs", "pub struct Used;"),
        ]);
        assert_eq!(found, BTreeSet::from([edge("src/lib.rs", "src/b.rs", "b::Used")]));
    }

    #[test]
    fn module_files_are_found_as_the_compiler_finds_them() {
        let found = edges(&[
            ("src/main.rs", "mod a; mod b;"),
            ("src/a.rs", "mod inner; fn f() { crate::b::deep::g(); }"),
            ("src/a/inner.rs", "use crate::b::deep::Thing;"),
            ("src/b/mod.rs", "pub mod deep;"),
            ("src/b/deep.rs", "pub struct Thing; pub fn g() {}"),
        ]);
        let expected = BTreeSet::from([
            edge("src/a.rs", "src/b/deep.rs", "crate::b::deep::g"),
            edge("src/a/inner.rs", "src/b/deep.rs", "crate::b::deep::Thing"),
        ]);
        assert_eq!(found, expected);
    }

    #[test]
    fn a_module_declaration_alone_and_test_code_are_no_reference() {
        let found = edges(&[
            ("src/lib.rs", "mod a; mod b;\n#[cfg(test)] mod testkit;"),
            ("src/a.rs", "pub struct A;\n#[cfg(test)]\nmod tests { use crate::b::B; use super::*; }"),
            ("src/b.rs", "pub struct B;\n// use crate::a::A;\nconst S: &str = \"crate::a::A\";"),
        ]);
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn a_missing_module_file_is_reported_with_where_it_was_sought() {
        let sources = BTreeMap::from([(PathBuf::from("src/lib.rs"), "\n\nmod gone;".to_owned())]);
        let err = ModuleTree::load(Path::new("src/lib.rs"), &sources).err().map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some("src/lib.rs:3: `mod gone;` has no file: looked for src/gone.rs, src/gone/mod.rs")
        );
    }

    #[test]
    fn imported_modules_count_where_their_items_are_used() {
        let found = edges(&[
            ("src/lib.rs", "mod a; mod b; mod c;"),
            ("src/a.rs", "use crate::b;\nuse super::c::{self};\nfn f() { b::run(); let _ = c::K; }"),
            ("src/b.rs", "pub fn run() {}"),
            ("src/c.rs", "pub const K: u8 = 1;"),
        ]);
        let expected =
            BTreeSet::from([edge("src/a.rs", "src/b.rs", "b::run"), edge("src/a.rs", "src/c.rs", "c::K")]);
        assert_eq!(found, expected);
    }

    #[test]
    fn glob_imports_refer_to_the_module_and_names_are_found_through_glob_re_exports() {
        let found = edges(&[
            ("src/lib.rs", "mod shapes; mod user;\npub use shapes::*;"),
            ("src/shapes/mod.rs", "mod circle;\npub use circle::*;"),
            ("src/shapes/circle.rs", "pub struct Circle;"),
            ("src/user.rs", "use super::*;\nfn f() -> crate::Circle { todo() }"),
        ]);
        let expected = BTreeSet::from([
            edge("src/user.rs", "src/lib.rs", "super::*"),
            edge("src/user.rs", "src/shapes/circle.rs", "crate::Circle"),
        ]);
        assert_eq!(found, expected);
    }

    #[test]
    fn path_attributes_and_inline_modules_are_followed() {
        let found = edges(&[
            ("src/lib.rs", "mod sync;"),
            ("src/sync/mod.rs", "mod plan;"),
            (
                "src/sync/plan.rs",
                "#[path = \"plan_renames.rs\"]\nmod renames;\npub(crate) mod kind { pub const A: u8 = 0; }\npub struct Verdict;",
            ),
            ("src/sync/plan_renames.rs", "use super::Verdict;\nfn f() -> u8 { super::kind::A }"),
        ]);
        let expected = BTreeSet::from([
            edge("src/sync/plan_renames.rs", "src/sync/plan.rs", "super::Verdict"),
            edge("src/sync/plan_renames.rs", "src/sync/plan.rs", "super::kind::A"),
        ]);
        assert_eq!(found, expected);
    }
}
