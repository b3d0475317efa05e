//! What one source file declares and refers to: its `mod` declarations, `use` trees, the paths
//! its code spells out (`crate::a::b`, `super::x`, `child::f`) and the names of its items.
//!
//! This reads tokens, not a syntax tree, and keeps only what layering needs. Test code is left
//! out: an item under `#[cfg(test)]` (or a `cfg` that implies `test`, such as
//! `all(test, unix)`) is skipped whole, and a file that starts with `#![cfg(test)]` is marked
//! test-only. Attribute contents are not read as code.

use std::collections::BTreeSet;

use crate::lexer::{Tok, Token, tokenize};

/// One module's contents: a file, or an inline `mod name { … }` inside one.
#[derive(Debug, Default)]
pub(crate) struct ModuleSyntax {
    /// The module carries `#![cfg(test)]`: all of it is test code.
    pub(crate) test_only: bool,
    /// `mod` declarations outside test code, in source order.
    pub(crate) mods: Vec<ModDecl>,
    /// Every leaf of every `use` tree outside test code.
    pub(crate) uses: Vec<UseLeaf>,
    /// Paths of two or more segments written in code (not in `use` trees).
    pub(crate) paths: Vec<CodePath>,
    /// Names of the module's own items (functions, types, constants, macros, modules).
    pub(crate) defs: BTreeSet<String>,
    /// Every identifier the module's code mentions outside `use` trees: a `pub use` only counts
    /// as this file's own dependency when the name it binds is used here too.
    pub(crate) idents: BTreeSet<String>,
}

/// `mod name;` or `mod name { … }`.
#[derive(Debug)]
pub(crate) struct ModDecl {
    pub(crate) name: String,
    /// The file named by a `#[path = "…"]` attribute.
    pub(crate) path_attr: Option<String>,
    /// The body of an inline module; `None` for a module in its own file.
    pub(crate) inline: Option<ModuleSyntax>,
    pub(crate) line: u32,
}

/// One imported path of a `use` tree: `use a::{b, c::*}` has the leaves `a::b` and `a::c::*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UseLeaf {
    /// The full path; a leading `::` is kept as a `::` segment, `self` in braces is dropped.
    pub(crate) path: Vec<String>,
    /// The name the leaf binds (an alias if `as` gives one); `None` for `as _` and globs.
    pub(crate) binds: Option<String>,
    pub(crate) glob: bool,
    /// Written with a `pub` visibility (of any reach): a re-export.
    pub(crate) public: bool,
    /// At module level rather than inside a function or other block: other modules can name
    /// what it binds.
    pub(crate) module_level: bool,
    pub(crate) line: u32,
}

/// A path written in code, such as `crate::model::apply` or `blocks::decode`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CodePath {
    pub(crate) segments: Vec<String>,
    pub(crate) line: u32,
}

/// Reads one source file.
pub(crate) fn parse_file(src: &str) -> ModuleSyntax {
    let tokens = tokenize(src);
    let mut parser = Parser { toks: &tokens, pos: 0 };
    let mut module = ModuleSyntax::default();
    parser.block(&mut module, true);
    module
}

/// Keywords that begin an item whose end is the first `;` or the end of its first `{ … }`.
const BRACED_ITEMS: &[&str] = &["fn", "mod", "impl", "trait", "struct", "enum", "union", "macro_rules"];
/// Keywords that begin an item or statement that always ends with `;`.
const SEMICOLON_ITEMS: &[&str] = &["use", "const", "static", "type", "let", "extern"];
/// Item keywords whose next identifier is the item's name.
const NAMED_ITEMS: &[&str] = &["fn", "struct", "enum", "trait", "type", "const", "static", "union", "mod"];
/// Words that may precede an item keyword.
const QUALIFIERS: &[&str] = &["pub", "unsafe", "async", "extern", "default", "const", "auto"];
/// Words that are never a path's first segment in code (`Self::new`, a keyword, a type).
const NOT_MODULES: &[&str] = &["Self", "as", "dyn", "impl", "where", "for", "in", "mut", "ref", "move"];

/// Attribute facts that change how the next item is read.
#[derive(Default)]
struct Pending {
    test_only: bool,
    path_attr: Option<String>,
    public: bool,
}

struct Parser<'a> {
    toks: &'a [Token],
    pos: usize,
}

impl<'a> Parser<'a> {
    fn tok(&self, ahead: usize) -> Option<&'a Token> {
        self.toks.get(self.pos + ahead)
    }

    fn ident_at(&self, ahead: usize) -> Option<&'a str> {
        match self.tok(ahead).map(|t| &t.kind) {
            Some(Tok::Ident(name)) => Some(name),
            _ => None,
        }
    }

    fn line(&self) -> u32 {
        self.tok(0).or(self.toks.last()).map_or(0, |t| t.line)
    }

    /// Reads until the `}` closing this block (consumed) or the end of the text.
    fn block(&mut self, module: &mut ModuleSyntax, module_level: bool) {
        let mut pending = Pending::default();
        while let Some(tok) = self.tok(0) {
            match &tok.kind {
                Tok::Punct('#') => {
                    self.attribute(module, &mut pending);
                    continue;
                }
                _ if pending.test_only => {
                    self.skip_item();
                    pending = Pending::default();
                    continue;
                }
                Tok::Punct('}') => {
                    self.pos += 1;
                    return;
                }
                Tok::Punct('{') => {
                    self.pos += 1;
                    self.block(module, false);
                }
                Tok::Ident(word) if word == "pub" => {
                    self.pos += 1;
                    // `pub(crate)` or `pub(in crate::x)`: the path there names no dependency.
                    if self.tok(0).is_some_and(|t| t.is_punct('(')) {
                        self.skip_group();
                    }
                    pending.public = true;
                    continue;
                }
                // `use<'a>` is a precise-capture bound, not an import.
                Tok::Ident(word) if word == "use" && !self.tok(1).is_some_and(|t| t.is_punct('<')) => {
                    self.use_declaration(module, module_level, pending.public);
                }
                Tok::Ident(word) if word == "mod" && self.ident_at(1).is_some() => {
                    self.mod_declaration(module, pending.path_attr.take());
                }
                Tok::Ident(word) => {
                    if module_level {
                        self.note_definition(module);
                    }
                    module.idents.insert(word.clone());
                    self.code_path(module);
                }
                _ => self.pos += 1,
            }
            pending = Pending::default();
        }
    }

    /// `#[…]` or `#![…]`: notes `cfg(test)` and `path = "…"`, and skips the rest.
    fn attribute(&mut self, module: &mut ModuleSyntax, pending: &mut Pending) {
        self.pos += 1;
        let inner = self.tok(0).is_some_and(|t| t.is_punct('!'));
        if inner {
            self.pos += 1;
        }
        if !self.tok(0).is_some_and(|t| t.is_punct('[')) {
            return;
        }
        let start = self.pos + 1;
        self.skip_group();
        let body = &self.toks[start..self.pos.saturating_sub(1).max(start)];
        let test_only = match body {
            [first, rest @ ..] if first.is_ident("cfg") => cfg_implies_test(rest),
            _ => false,
        };
        if inner {
            module.test_only |= test_only;
        } else {
            pending.test_only |= test_only;
        }
        if let [first, eq, value] = body
            && first.is_ident("path")
            && eq.is_punct('=')
            && let Tok::Str(path) = &value.kind
        {
            pending.path_attr = Some(path.clone());
        }
    }

    /// Skips a bracketed group starting at the current `(`, `[` or `{`, closer included.
    fn skip_group(&mut self) {
        let mut depth = 0usize;
        while let Some(tok) = self.tok(0) {
            self.pos += 1;
            match tok.kind {
                Tok::Punct('(' | '[' | '{') => depth += 1,
                Tok::Punct(')' | ']' | '}') => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        return;
                    }
                }
                _ => {}
            }
        }
    }

    /// Skips one item, statement, field or match arm that a test-only `cfg` removes.
    fn skip_item(&mut self) {
        let mut ahead = 0;
        while let Some(word) = self.ident_at(ahead).filter(|w| QUALIFIERS.contains(w)) {
            let followed_by_item = self.ident_at(ahead + 1).is_some_and(|next| BRACED_ITEMS.contains(&next));
            if word == "const" && !followed_by_item {
                break;
            }
            ahead += 1;
            if word == "pub" && self.tok(ahead).is_some_and(|t| t.is_punct('(')) {
                let save = self.pos;
                self.pos += ahead;
                self.skip_group();
                ahead = self.pos - save;
                self.pos = save;
            }
        }
        let keyword = self.ident_at(ahead).unwrap_or_default();
        let braced = BRACED_ITEMS.contains(&keyword);
        let semicolon = SEMICOLON_ITEMS.contains(&keyword);
        let mut depth = 0usize;
        while let Some(tok) = self.tok(0) {
            match tok.kind {
                Tok::Punct('(' | '[') => depth += 1,
                Tok::Punct('{') => {
                    if depth == 0 && !semicolon {
                        self.skip_group();
                        return;
                    }
                    depth += 1;
                }
                Tok::Punct(')' | ']' | '}') => {
                    if depth == 0 {
                        // The end of the enclosing list or block: the skipped part ended before.
                        return;
                    }
                    depth -= 1;
                }
                Tok::Punct(';') if depth == 0 => {
                    self.pos += 1;
                    return;
                }
                Tok::Punct(',') if depth == 0 && !braced && !semicolon => {
                    self.pos += 1;
                    return;
                }
                _ => {}
            }
            self.pos += 1;
        }
    }

    fn mod_declaration(&mut self, module: &mut ModuleSyntax, path_attr: Option<String>) {
        let line = self.line();
        let name = self.ident_at(1).unwrap_or_default().to_owned();
        self.pos += 2;
        module.defs.insert(name.clone());
        let inline = if self.tok(0).is_some_and(|t| t.is_punct('{')) {
            self.pos += 1;
            let mut body = ModuleSyntax::default();
            self.block(&mut body, true);
            if body.test_only {
                return;
            }
            Some(body)
        } else {
            self.pos += 1;
            None
        };
        module.mods.push(ModDecl { name, path_attr, inline, line });
    }

    fn use_declaration(&mut self, module: &mut ModuleSyntax, module_level: bool, public: bool) {
        let line = self.line();
        self.pos += 1;
        let mut prefix = Vec::new();
        if self.tok(0).is_some_and(|t| t.kind == Tok::PathSep) {
            self.pos += 1;
            prefix.push("::".to_owned());
        }
        let mut leaves = Vec::new();
        self.use_tree(prefix, &mut leaves);
        while let Some(tok) = self.tok(0) {
            self.pos += 1;
            if tok.is_punct(';') {
                break;
            }
        }
        for (path, binds, glob) in leaves {
            module.uses.push(UseLeaf { path, binds, glob, public, module_level, line });
        }
    }

    /// One use tree: `a::b`, `a::b as c`, `a::*`, `a::{…}`; pushes (path, binding, glob).
    fn use_tree(&mut self, mut prefix: Vec<String>, out: &mut Vec<(Vec<String>, Option<String>, bool)>) {
        loop {
            let Some(tok) = self.tok(0) else { return };
            match &tok.kind {
                Tok::Punct('*') => {
                    self.pos += 1;
                    out.push((prefix, None, true));
                    return;
                }
                Tok::Punct('{') => {
                    self.pos += 1;
                    while let Some(tok) = self.tok(0) {
                        if tok.is_punct('}') {
                            self.pos += 1;
                            break;
                        }
                        if tok.is_punct(',') {
                            self.pos += 1;
                            continue;
                        }
                        let before = self.pos;
                        self.use_tree(prefix.clone(), out);
                        if self.pos == before {
                            self.pos += 1;
                        }
                    }
                    return;
                }
                Tok::Ident(name) => {
                    let name = name.clone();
                    self.pos += 1;
                    if self.tok(0).is_some_and(|t| t.kind == Tok::PathSep) {
                        self.pos += 1;
                        prefix.push(name);
                        continue;
                    }
                    let (path, default_binding) = if name == "self" {
                        let last = prefix.last().cloned();
                        (prefix, last)
                    } else {
                        prefix.push(name.clone());
                        (prefix, Some(name))
                    };
                    let binds = if self.ident_at(0) == Some("as") {
                        let alias = self.ident_at(1).map(str::to_owned);
                        self.pos += 2;
                        alias.filter(|a| a != "_")
                    } else {
                        default_binding
                    };
                    out.push((path, binds, false));
                    return;
                }
                _ => return,
            }
        }
    }

    /// Records the name of an item that starts here at module level (`fn x`, `macro_rules! x`).
    fn note_definition(&self, module: &mut ModuleSyntax) {
        let Some(keyword) = self.ident_at(0) else { return };
        let previous = self.pos.checked_sub(1).and_then(|p| self.toks.get(p));
        // `*const T`, `<const N: usize>` and `&'a fn` are types and parameters, not items.
        if previous.is_some_and(|t| t.is_punct('*') || t.is_punct('<') || t.is_punct(',')) {
            return;
        }
        let name = if keyword == "macro_rules" && self.tok(1).is_some_and(|t| t.is_punct('!')) {
            self.ident_at(2)
        } else if NAMED_ITEMS.contains(&keyword) {
            self.ident_at(1)
        } else {
            None
        };
        if let Some(name) = name.filter(|n| *n != "_" && !BRACED_ITEMS.contains(n) && !QUALIFIERS.contains(n))
        {
            module.defs.insert(name.to_owned());
        }
    }

    /// At an identifier: if it starts a path of two or more segments, records the path and moves
    /// past it; otherwise moves past the identifier.
    fn code_path(&mut self, module: &mut ModuleSyntax) {
        let line = self.line();
        let previous = self.pos.checked_sub(1).and_then(|p| self.toks.get(p));
        // The middle of a longer path (`::std::x`) or a method's turbofish (`x.parse::<T>()`).
        let continues = previous.is_some_and(|t| t.kind == Tok::PathSep || t.is_punct('.'));
        let mut segments = Vec::new();
        while let Some(name) = self.ident_at(0) {
            segments.push(name.to_owned());
            module.idents.insert(name.to_owned());
            self.pos += 1;
            let separator = self.tok(0).is_some_and(|t| t.kind == Tok::PathSep);
            if !separator || self.ident_at(1).is_none() {
                break;
            }
            self.pos += 1;
        }
        let first = segments.first().map(String::as_str).unwrap_or_default();
        if !continues && segments.len() >= 2 && !NOT_MODULES.contains(&first) {
            module.paths.push(CodePath { segments, line });
        }
    }
}

/// True when a `cfg(…)` predicate can only hold in a test build: `test`, `all(test, …)`, or an
/// `any(…)` whose every branch implies `test`. `any(test, feature = "x")` is not: that code is
/// also built with the feature.
fn cfg_implies_test(tokens: &[Token]) -> bool {
    match tokens {
        [open, rest @ .., close] if open.is_punct('(') && close.is_punct(')') => predicate_implies_test(rest),
        _ => false,
    }
}

fn predicate_implies_test(tokens: &[Token]) -> bool {
    match tokens {
        [word] => word.is_ident("test"),
        [word, open, args @ .., close] if open.is_punct('(') && close.is_punct(')') => {
            let mut branches = split_top_level_commas(args).into_iter().filter(|b| !b.is_empty());
            if word.is_ident("all") {
                branches.any(predicate_implies_test)
            } else if word.is_ident("any") {
                let branches: Vec<_> = branches.collect();
                !branches.is_empty() && branches.into_iter().all(predicate_implies_test)
            } else {
                false
            }
        }
        _ => false,
    }
}

fn split_top_level_commas(tokens: &[Token]) -> Vec<&[Token]> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (i, tok) in tokens.iter().enumerate() {
        match tok.kind {
            Tok::Punct('(') => depth += 1,
            Tok::Punct(')') => depth = depth.saturating_sub(1),
            Tok::Punct(',') if depth == 0 => {
                parts.push(&tokens[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&tokens[start..]);
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf_paths(module: &ModuleSyntax) -> Vec<String> {
        module
            .uses
            .iter()
            .map(|u| if u.glob { format!("{}::*", u.path.join("::")) } else { u.path.join("::") })
            .collect()
    }

    fn code_paths(module: &ModuleSyntax) -> Vec<String> {
        module.paths.iter().map(|p| p.segments.join("::")).collect()
    }

    #[test]
    fn use_trees_split_into_leaves_with_their_bindings() {
        let m = parse_file("use super::{a::{self, B as C}, d::*, e as _};\npub(crate) use ::std::fmt;");
        assert_eq!(leaf_paths(&m), ["super::a", "super::a::B", "super::d::*", "super::e", "::::std::fmt"]);
        let binds: Vec<_> = m.uses.iter().map(|u| u.binds.clone()).collect();
        assert_eq!(binds, [Some("a".into()), Some("C".into()), None, None, Some("fmt".into())]);
        assert!(m.uses[..4].iter().all(|u| !u.public) && m.uses[4].public);
    }

    #[test]
    fn test_only_items_are_skipped_whole() {
        let src = "
            use crate::kept;
            #[cfg(test)]
            mod tests { use crate::gone_a; fn f() { crate::gone_b::x(); } }
            #[cfg(test)] mod testkit;
            #[cfg(all(test, unix))] pub(crate) fn helper<A, B>() -> [u8; 2] { crate::gone_c::y() }
            #[cfg(test)] const N: usize = crate::gone_d::N;
            #[cfg(any(test, feature = \"x\"))] use crate::kept_too;
            struct S { a: u8, #[cfg(test)] b: crate::gone_e::T, c: crate::kept_three::T }
            fn g() { crate::kept_four::z(); }
        ";
        let m = parse_file(src);
        assert_eq!(leaf_paths(&m), ["crate::kept", "crate::kept_too"]);
        assert_eq!(code_paths(&m), ["crate::kept_three::T", "crate::kept_four::z"]);
        assert!(m.mods.is_empty(), "a test-only module was declared: {:?}", m.mods);
        assert!(m.defs.contains("g") && !m.defs.contains("helper") && !m.defs.contains("N"));
    }

    #[test]
    fn an_inner_cfg_test_marks_the_whole_file() {
        assert!(parse_file("//! Test helpers.\n#![cfg(test)]\nuse crate::x;").test_only);
        assert!(!parse_file("#![cfg(not(test))]\nuse crate::x;").test_only);
    }

    #[test]
    fn commented_and_quoted_paths_are_not_references() {
        let src = "//! Uses `crate::a` in docs.\n// use crate::b;\n/// [`crate::c`]\nfn f() { let s = \"crate::d::e\"; crate::f::g(); }";
        let m = parse_file(src);
        assert!(m.uses.is_empty());
        assert_eq!(code_paths(&m), ["crate::f::g"]);
    }

    #[test]
    fn code_paths_are_whole_and_start_at_their_first_segment() {
        let src = "fn f() { ::std::mem::take(x); x.parse::<u8>(); super::super::a::b(); Self::new(); child::run(); pub(in crate::m) fn z() {} }";
        assert_eq!(code_paths(&parse_file(src)), ["super::super::a::b", "child::run"]);
    }

    #[test]
    fn module_declarations_keep_path_attributes_and_inline_bodies() {
        let src = "#[path = \"plan_renames.rs\"]\nmod renames;\npub mod kind { use super::*; pub const A: u8 = 1; }\nmod plain;";
        let m = parse_file(src);
        let names: Vec<_> =
            m.mods.iter().map(|d| (d.name.as_str(), d.path_attr.as_deref(), d.inline.is_some())).collect();
        assert_eq!(
            names,
            [("renames", Some("plan_renames.rs"), false), ("kind", None, true), ("plain", None, false)]
        );
        let kind = m.mods[1].inline.as_ref().map(|b| (leaf_paths(b), b.defs.clone()));
        assert_eq!(kind, Some((vec!["super::*".to_owned()], BTreeSet::from(["A".to_owned()]))));
    }

    #[test]
    fn item_names_are_recorded_at_module_level_only() {
        let m = parse_file(
            "pub struct A; enum B {} pub(crate) const fn c() {} macro_rules! d { () => {} } impl A { fn e() {} } static F: *const u8 = 0;",
        );
        assert_eq!(m.defs, BTreeSet::from(["A", "B", "F", "c", "d"].map(String::from)));
    }
}
