//! A Rust lexer just good enough to find paths: identifiers, `::`, brackets and punctuation,
//! with comments dropped and string, character and number literals reduced to single tokens.
//!
//! It exists so that `// use crate::x`, a doc comment's example or a `"crate::x"` inside a string
//! never looks like an import. It does not validate anything: the compiler already did, so it is
//! tolerant and simply stops at the end of the text.

/// One token and the line it starts on (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token {
    pub(crate) kind: Tok,
    pub(crate) line: u32,
}

/// What a token is, as far as finding paths and items needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Tok {
    /// An identifier or keyword; `$crate` and macro variables keep their `$`, raw identifiers
    /// their `r#`.
    Ident(String),
    /// A string literal's contents (escapes left as written); only `#[path = "…"]` reads them.
    Str(String),
    /// `::`.
    PathSep,
    /// Any other single punctuation character.
    Punct(char),
    /// A number or character literal.
    Literal,
    /// A lifetime or loop label (`'a`, `'static`).
    Lifetime,
}

impl Token {
    /// True when this token is the identifier or keyword `word`.
    pub(crate) fn is_ident(&self, word: &str) -> bool {
        matches!(&self.kind, Tok::Ident(name) if name == word)
    }

    /// True when this token is the punctuation character `c`.
    pub(crate) fn is_punct(&self, c: char) -> bool {
        self.kind == Tok::Punct(c)
    }
}

/// Splits Rust source text into tokens.
pub(crate) fn tokenize(src: &str) -> Vec<Token> {
    let mut lexer = Lexer { chars: src.chars().collect(), pos: 0, line: 1, out: Vec::new() };
    lexer.skip_shebang();
    lexer.run();
    lexer.out
}

struct Lexer {
    chars: Vec<char>,
    pos: usize,
    line: u32,
    out: Vec<Token>,
}

impl Lexer {
    fn peek(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.pos + ahead).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek(0)?;
        self.pos += 1;
        if c == '\n' {
            self.line += 1;
        }
        Some(c)
    }

    fn push(&mut self, kind: Tok, line: u32) {
        self.out.push(Token { kind, line });
    }

    /// A `#!` first line that is not an inner attribute (`#![…]`) is a shebang, not code.
    fn skip_shebang(&mut self) {
        if self.peek(0) == Some('#') && self.peek(1) == Some('!') && self.peek(2) != Some('[') {
            while let Some(c) = self.peek(0) {
                if c == '\n' {
                    break;
                }
                self.bump();
            }
        }
    }

    fn run(&mut self) {
        while let Some(c) = self.peek(0) {
            let line = self.line;
            if c.is_whitespace() {
                self.bump();
            } else if c == '/' && self.peek(1) == Some('/') {
                self.line_comment();
            } else if c == '/' && self.peek(1) == Some('*') {
                self.block_comment();
            } else if c == '"' {
                self.bump();
                let text = self.quoted('"');
                self.push(Tok::Str(text), line);
            } else if c == '\'' {
                self.quote_or_lifetime(line);
            } else if let Some(hashes) = self.raw_string_prefix() {
                self.raw_string(hashes, line);
            } else if self.byte_or_c_prefix() {
                // `b"…"`, `c"…"` and `b'…'`: the prefix letter is not an identifier.
                self.bump();
                let quote = self.bump().unwrap_or('"');
                let text = self.quoted(quote);
                let kind = if quote == '"' { Tok::Str(text) } else { Tok::Literal };
                self.push(kind, line);
            } else if c == 'r' && self.peek(1) == Some('#') && self.peek(2).is_some_and(is_ident_start) {
                self.pos += 2;
                let name = self.ident_rest();
                self.push(Tok::Ident(format!("r#{name}")), line);
            } else if is_ident_start(c) {
                let name = self.ident_rest();
                self.push(Tok::Ident(name), line);
            } else if c == '$' && self.peek(1).is_some_and(is_ident_start) {
                self.bump();
                let name = self.ident_rest();
                self.push(Tok::Ident(format!("${name}")), line);
            } else if c.is_ascii_digit() {
                while self.peek(0).is_some_and(|d| d.is_alphanumeric() || d == '_') {
                    self.bump();
                }
                self.push(Tok::Literal, line);
            } else if c == ':' && self.peek(1) == Some(':') {
                self.pos += 2;
                self.push(Tok::PathSep, line);
            } else {
                self.bump();
                self.push(Tok::Punct(c), line);
            }
        }
    }

    fn line_comment(&mut self) {
        while let Some(c) = self.peek(0) {
            if c == '\n' {
                return;
            }
            self.bump();
        }
    }

    /// Block comments nest in Rust: `/* a /* b */ still a comment */`.
    fn block_comment(&mut self) {
        self.pos += 2;
        let mut depth = 1;
        while depth > 0 {
            match (self.peek(0), self.peek(1)) {
                (Some('/'), Some('*')) => {
                    self.pos += 2;
                    depth += 1;
                }
                (Some('*'), Some('/')) => {
                    self.pos += 2;
                    depth -= 1;
                }
                (Some(_), _) => {
                    self.bump();
                }
                (None, _) => return,
            }
        }
    }

    /// Reads up to the closing `quote`, honouring backslash escapes; the opening quote is gone.
    fn quoted(&mut self, quote: char) -> String {
        let mut text = String::new();
        while let Some(c) = self.bump() {
            if c == '\\' {
                text.push(c);
                if let Some(escaped) = self.bump() {
                    text.push(escaped);
                }
            } else if c == quote {
                break;
            } else {
                text.push(c);
            }
        }
        text
    }

    /// `'x'`, `'\n'` and `'\u{1F600}'` are characters; `'a`, `'static` and `'_` are lifetimes.
    fn quote_or_lifetime(&mut self, line: u32) {
        self.bump();
        let is_char = matches!((self.peek(0), self.peek(1)), (Some('\\'), _) | (Some(_), Some('\'')));
        if is_char {
            self.quoted('\'');
            self.push(Tok::Literal, line);
        } else {
            while self.peek(0).is_some_and(is_ident_continue) {
                self.bump();
            }
            self.push(Tok::Lifetime, line);
        }
    }

    /// The number of `#` of a raw string starting here (`r"`, `r#"`, `br"`, `cr##"`), if one does.
    fn raw_string_prefix(&self) -> Option<usize> {
        let start = match (self.peek(0), self.peek(1)) {
            (Some('r'), _) => 1,
            (Some('b' | 'c'), Some('r')) => 2,
            _ => return None,
        };
        let mut hashes = 0;
        while self.peek(start + hashes) == Some('#') {
            hashes += 1;
        }
        (self.peek(start + hashes) == Some('"')).then_some(hashes)
    }

    fn raw_string(&mut self, hashes: usize, line: u32) {
        while self.peek(0) != Some('"') {
            self.bump();
        }
        self.bump();
        let mut text = String::new();
        while let Some(c) = self.bump() {
            if c == '"' && (0..hashes).all(|i| self.peek(i) == Some('#')) {
                self.pos += hashes;
                break;
            }
            text.push(c);
        }
        self.push(Tok::Str(text), line);
    }

    fn byte_or_c_prefix(&self) -> bool {
        matches!((self.peek(0), self.peek(1)), (Some('b'), Some('"' | '\'')) | (Some('c'), Some('"')))
    }

    fn ident_rest(&mut self) -> String {
        let mut name = String::new();
        while let Some(c) = self.peek(0).filter(|c| is_ident_continue(*c)) {
            name.push(c);
            self.pos += 1;
        }
        name
    }
}

fn is_ident_start(c: char) -> bool {
    c == '_' || c.is_alphabetic()
}

fn is_ident_continue(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idents(src: &str) -> Vec<String> {
        tokenize(src)
            .into_iter()
            .filter_map(|t| match t.kind {
                Tok::Ident(name) => Some(name),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn comments_and_doc_comments_hide_their_text() {
        let src = "// use crate::a;\n/// see crate::b\n/* crate::c /* nested crate::d */ crate::e */ x";
        assert_eq!(idents(src), ["x"]);
    }

    #[test]
    fn strings_of_every_kind_are_one_token() {
        let src = r###"a "crate::x \" crate::y" b r#"crate::z " still"# c b"crate" d br##"x"## e c"z" f"###;
        assert_eq!(idents(src), ["a", "b", "c", "d", "e", "f"]);
    }

    #[test]
    fn characters_are_told_from_lifetimes() {
        let src = "fn f<'a>(x: &'a str) { let q = '\"'; let s = '\\''; let u = 'é'; g::<'static>() }";
        let toks = tokenize(src);
        assert_eq!(toks.iter().filter(|t| t.kind == Tok::Lifetime).count(), 3);
        assert_eq!(toks.iter().filter(|t| t.kind == Tok::Literal).count(), 3);
        assert!(!toks.iter().any(|t| matches!(t.kind, Tok::Str(_))), "a quote inside a char opened a string");
    }

    #[test]
    fn path_separators_and_lines_are_kept() {
        let toks = tokenize("a\n::b\n$crate::c r#type");
        let kinds: Vec<_> = toks.iter().map(|t| (t.kind.clone(), t.line)).collect();
        assert_eq!(
            kinds,
            [
                (Tok::Ident("a".into()), 1),
                (Tok::PathSep, 2),
                (Tok::Ident("b".into()), 2),
                (Tok::Ident("$crate".into()), 3),
                (Tok::PathSep, 3),
                (Tok::Ident("c".into()), 3),
                (Tok::Ident("r#type".into()), 3),
            ]
        );
    }
}
