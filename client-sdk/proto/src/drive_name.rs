//! The rules for one name in a drive path — a file's or a folder's name — shared by the nodes,
//! which refuse a path that breaks them, and the clients, which refuse such a name when a server
//! sends one, so that a faulty or hostile server cannot make a client write where it should not.
//!
//! Two sets, because they came at different times:
//!
//! - the **structural** rules, kept since the first release, make a path a path: no empty name,
//!   no `.` or `..`, no `/`, `\` or NUL, at most 255 bytes. Every name ever stored keeps them,
//!   so what the nodes read back from their own state is held to these only;
//! - the rules for **new** names: no control characters (a name is printed on terminals: ESC
//!   and newline would let a shared folder's names rewrite a screen), no bidirectional
//!   overrides (they disguise a name: `invoice\u{202E}fdp.exe` shows as `invoiceexe.pdf`), no
//!   drive letter and colon at the start (`C:x` is a whole path on Windows), and Unicode NFC
//!   (macOS writes names in NFD: `é` as `e` + a combining accent, which must be the same name
//!   as the `é` another device typed, not a twin).

use std::borrow::Cow;
use std::fmt;

use unicode_normalization::{UnicodeNormalization, is_nfc};

/// Longest accepted name, in bytes.
pub const MAX_NAME_LEN: usize = 255;

/// Why a name is not a drive name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameProblem {
    /// The empty name (`a//b`).
    Empty,
    /// `.` or `..`.
    Dot,
    /// A `/` inside one name.
    Slash,
    /// A backslash: a separator on Windows.
    Backslash,
    /// NUL.
    Nul,
    /// Longer than [`MAX_NAME_LEN`] bytes.
    TooLong,
    /// A control character (C0, DEL or C1).
    Control(char),
    /// A bidirectional embedding, override or isolate.
    Bidi(char),
    /// A drive letter and a colon at the start (`C:x`).
    DrivePrefix,
    /// Not in Unicode NFC.
    NotNfc,
}

impl fmt::Display for NameProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => write!(f, "empty path component"),
            Self::Dot => write!(f, "'.' and '..' are not allowed"),
            Self::Slash => write!(f, "'/' is not allowed inside a name"),
            Self::Backslash => write!(f, "backslash is not allowed"),
            Self::Nul => write!(f, "NUL is not allowed"),
            Self::TooLong => write!(f, "a component is longer than {MAX_NAME_LEN} bytes"),
            Self::Control(c) => write!(f, "control character U+{:04X} is not allowed", u32::from(*c)),
            Self::Bidi(c) => write!(
                f,
                "bidirectional control character U+{:04X} is not allowed (it can disguise a name)",
                u32::from(*c)
            ),
            Self::DrivePrefix => write!(f, "a name cannot start with a drive letter and a colon (\"C:\")"),
            Self::NotNfc => write!(f, "the name is not in Unicode NFC, the form the drive keeps names in"),
        }
    }
}

/// What is wrong with `name` as one name of a drive path exactly as given, or `None` for a
/// name the drive accepts as it stands. This is what a client checks each name a server
/// sends against.
pub fn name_problem(name: &str) -> Option<NameProblem> {
    structural_problem(name)
        .or_else(|| content_problem(name))
        .or_else(|| (!is_nfc(name)).then_some(NameProblem::NotNfc))
}

/// The structural rules only: what every stored name keeps.
pub(crate) fn structural_problem(name: &str) -> Option<NameProblem> {
    match name {
        "" => Some(NameProblem::Empty),
        "." | ".." => Some(NameProblem::Dot),
        _ if name.len() > MAX_NAME_LEN => Some(NameProblem::TooLong),
        _ if name.contains('\0') => Some(NameProblem::Nul),
        _ if name.contains('/') => Some(NameProblem::Slash),
        _ if name.contains('\\') => Some(NameProblem::Backslash),
        _ => None,
    }
}

/// The rules for new names, but NFC (which [`DrivePath::parse`](crate::DrivePath::parse)
/// establishes rather than demands).
pub(crate) fn content_problem(name: &str) -> Option<NameProblem> {
    if let Some(c) = name.chars().find(|c| c.is_control()) {
        return Some(NameProblem::Control(c));
    }
    if let Some(c) = name.chars().find(|c| is_bidi_control(*c)) {
        return Some(NameProblem::Bidi(c));
    }
    let bytes = name.as_bytes();
    if bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':' {
        return Some(NameProblem::DrivePrefix);
    }
    None
}

/// The embeddings, overrides and isolates of the Unicode bidirectional algorithm, which
/// reorder how the text around them is shown. (The implicit marks LRM/RLM only nudge
/// neutral characters and appear in real right-to-left names; they stay allowed.)
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// `text` in Unicode NFC, borrowed when it already is.
pub fn to_nfc(text: &str) -> Cow<'_, str> {
    if is_nfc(text) { Cow::Borrowed(text) } else { Cow::Owned(text.nfc().collect()) }
}

/// `text` safe to print on a terminal or in a log: control and bidirectional characters
/// escaped (`\n`, `\u{1b}`), everything else as it is. For names a server or another person
/// chose, which must not be able to move a cursor or recolour a screen.
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| c.is_control() || is_bidi_control(c)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() || is_bidi_control(c) => out.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_judged_as_given() {
        assert_eq!(name_problem("report.pdf"), None);
        assert_eq!(name_problem("Meeting 10:30"), None);
        assert_eq!(name_problem("\u{05E9}\u{200F}.txt"), None, "an RLM in a Hebrew name is fine");
        for (name, problem) in [
            ("", NameProblem::Empty),
            ("..", NameProblem::Dot),
            ("a/b", NameProblem::Slash),
            ("a\\b", NameProblem::Backslash),
            ("a\0b", NameProblem::Nul),
            ("a\nb", NameProblem::Control('\n')),
            ("\u{1b}[31mred", NameProblem::Control('\u{1b}')),
            ("x\u{7f}", NameProblem::Control('\u{7f}')),
            ("x\u{85}", NameProblem::Control('\u{85}')),
            ("invoice\u{202E}fdp.exe", NameProblem::Bidi('\u{202E}')),
            ("C:x", NameProblem::DrivePrefix),
            ("z:", NameProblem::DrivePrefix),
            ("cafe\u{301}", NameProblem::NotNfc),
        ] {
            assert_eq!(name_problem(name), Some(problem), "{name:?}");
        }
        assert_eq!(name_problem(&"é".repeat(128)), Some(NameProblem::TooLong));
    }

    #[test]
    fn reasons_read_as_sentences() {
        assert_eq!(NameProblem::Control('\u{1b}').to_string(), "control character U+001B is not allowed");
        assert!(NameProblem::DrivePrefix.to_string().contains("drive letter"));
    }

    #[test]
    fn printing_escapes_what_could_drive_a_terminal() {
        assert!(matches!(printable("plain näme"), Cow::Borrowed(_)));
        assert_eq!(printable("a\nb\u{1b}[2J\u{202E}c"), "a\\nb\\u{1b}[2J\\u{202e}c");
    }

    #[test]
    fn nfc_is_borrowed_when_it_already_is() {
        assert!(matches!(to_nfc("café"), Cow::Borrowed(_)));
        assert_eq!(to_nfc("cafe\u{301}"), "café");
    }
}
