//! Which names a local disk can hold. A drive name (see [`cairn_proto::drive_name`]) is valid
//! on every device's drive, but not every disk takes every name: Windows refuses `CON`, `a:b`
//! and a trailing dot or space; NTFS, APFS and HFS+ take `A.txt` and `a.txt` for one name;
//! APFS and HFS+ take the NFC and NFD spellings of `é` for one. A name this disk cannot hold
//! is skipped with the reason, never written under another name and never counted as deleted.
//!
//! Windows' rules are a pure function here ([`windows_problem`]), checked on every platform:
//! elsewhere they only explain, in a note, why a device on Windows skips a name
//! ([`portability_note`]).

use std::borrow::Cow;
use std::path::Path;

use cairn_proto::drive_name::to_nfc;

/// What a disk does with names, as far as sync must know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiskNames {
    /// Windows' rules for names apply (reserved device names, `<>:"|?*`, no trailing dot or
    /// space).
    pub windows: bool,
    /// `A.txt` and `a.txt` are one name here (NTFS, APFS and HFS+ by default).
    pub case_insensitive: bool,
    /// The NFC and NFD spellings of a name are one name here (APFS, HFS+).
    pub normalization_insensitive: bool,
}

impl DiskNames {
    /// What this platform's usual disks do: NTFS on Windows, APFS on macOS, case- and
    /// form-sensitive elsewhere.
    pub fn native() -> Self {
        Self {
            windows: cfg!(windows),
            case_insensitive: cfg!(any(windows, target_os = "macos")),
            normalization_insensitive: cfg!(target_os = "macos"),
        }
    }

    /// What the disk holding `dir` does, found by making two files in `dir` and looking them up
    /// by another spelling (a case-sensitive APFS volume, or a casefolded ext4 folder, is
    /// not what its platform suggests). Falls back to [`Self::native`] where `dir` cannot be
    /// written.
    pub fn probe(dir: &Path) -> Self {
        let native = Self::native();
        let tag = format!("{:08x}", rand::random::<u32>());
        let answers = |made: &str, asked: &str| -> Option<bool> {
            let file = dir.join(made);
            std::fs::write(&file, b"").ok()?;
            let same = std::fs::symlink_metadata(dir.join(asked)).is_ok();
            let _ = std::fs::remove_file(&file);
            Some(same)
        };
        let case = answers(&format!("Probe-{tag}.tmp"), &format!("pROBE-{tag}.tmp"));
        let form = answers(&format!("probe-e\u{301}-{tag}.tmp"), &format!("probe-\u{e9}-{tag}.tmp"));
        Self {
            windows: native.windows,
            case_insensitive: case.unwrap_or(native.case_insensitive),
            normalization_insensitive: form.unwrap_or(native.normalization_insensitive),
        }
    }

    /// Why this disk cannot hold the drive name `name`, if it cannot.
    pub fn problem(&self, name: &str) -> Option<&'static str> {
        if self.windows { windows_problem(name) } else { None }
    }

    /// The spelling two names share when this disk takes them for one: lower case on a
    /// case-insensitive disk, NFC on a form-insensitive one.
    pub fn fold<'a>(&self, name: &'a str) -> Cow<'a, str> {
        let name = if self.normalization_insensitive { to_nfc(name) } else { Cow::Borrowed(name) };
        if self.case_insensitive { Cow::Owned(name.to_lowercase()) } else { name }
    }
}

/// Windows' device names, reserved in every folder, with or without an extension.
const RESERVED: &[&str] = &[
    "CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$", "COM0", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6",
    "COM7", "COM8", "COM9", "COM¹", "COM²", "COM³", "LPT0", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6",
    "LPT7", "LPT8", "LPT9", "LPT¹", "LPT²", "LPT³",
];

/// Why Windows cannot hold the name `name`, if it cannot (Microsoft's "Naming Files, Paths, and
/// Namespaces"): a reserved device name, also with an extension (`nul.tar.gz`); one of
/// `<>:"|?*`; a trailing dot or space, which Windows drops, making another name.
pub fn windows_problem(name: &str) -> Option<&'static str> {
    if name.chars().any(|c| matches!(c, '<' | '>' | ':' | '"' | '|' | '?' | '*')) {
        return Some("Windows does not allow any of < > : \" | ? * in a name");
    }
    if name.ends_with('.') || name.ends_with(' ') {
        return Some("Windows does not allow a name to end with a dot or a space");
    }
    let stem = name.split('.').next().unwrap_or(name).trim_end_matches(' ');
    if RESERVED.iter().any(|reserved| reserved.eq_ignore_ascii_case(stem)) {
        return Some("the name is reserved for a device on Windows");
    }
    None
}

/// A note for a name this device can hold but a device on Windows cannot: the file is synced
/// here, and such a device will skip it.
pub fn portability_note(name: &str) -> Option<String> {
    windows_problem(name).map(|why| format!("synced here, but devices on Windows skip it: {why}"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn windows_refuses_devices_reserved_characters_and_trailing_dots() {
        for name in [
            "CON",
            "con",
            "Con.txt",
            "nul.tar.gz",
            "COM1",
            "lpt9.log",
            "COM¹",
            "CON .txt",
            "a:b",
            "what?",
            "x*",
            "a\"b",
        ] {
            assert!(windows_problem(name).is_some(), "{name}");
        }
        for name in ["trailing.", "trailing "] {
            assert!(windows_problem(name).unwrap().contains("end with"), "{name}");
        }
        for name in ["CONSOLE", "com10", "lpt", "icon.png", "a.con", "report.pdf", ".hidden", "été"] {
            assert_eq!(windows_problem(name), None, "{name}");
        }
        assert!(portability_note("CON").unwrap().contains("Windows"));
    }

    #[test]
    fn disks_hold_what_their_rules_allow() {
        let windows = DiskNames { windows: true, case_insensitive: true, normalization_insensitive: false };
        assert!(windows.problem("CON").is_some());
        let linux = DiskNames { windows: false, case_insensitive: false, normalization_insensitive: false };
        assert_eq!(linux.problem("CON"), None);
        assert_eq!(windows.fold("Readme.TXT"), "readme.txt");
        assert_eq!(linux.fold("Readme.TXT"), "Readme.TXT");
        let mac = DiskNames { windows: false, case_insensitive: true, normalization_insensitive: true };
        assert_eq!(mac.fold("Cafe\u{301}"), mac.fold("café"));
    }

    #[test]
    fn a_probe_finds_what_this_disk_does() {
        let dir = tempfile::tempdir().unwrap();
        let probed = DiskNames::probe(dir.path());
        // Whatever the disk, the probe leaves nothing behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        // ext4, xfs and btrfs (where this suite runs) take every spelling for another name.
        #[cfg(target_os = "linux")]
        assert!(!probed.case_insensitive && !probed.normalization_insensitive, "{probed:?}");
        let _ = probed;
    }
}
