//! The name a conflict's losing side is kept under: `name (conflicted copy, DEVICE, YYYY-MM-DD
//! HHMMSS).ext`, the form Dropbox users know, so people recognise it and can search for it. Pure:
//! the caller passes the device, the time and which names are taken.

use cairn_proto::drive_path::MAX_NAME_LEN;

/// The local date and time as a conflicted copy shows it: `2026-11-25 233100`.
pub fn stamp_now() -> String {
    chrono::Local::now().format("%Y-%m-%d %H%M%S").to_string()
}

/// A device name fit for a file name on any disk: in NFC (the drive's form), with no path
/// separator, control character or character Windows refuses, at most 64 bytes, and never
/// empty.
pub fn clean_device(device: &str) -> String {
    let mut out = String::new();
    for c in cairn_proto::drive_name::to_nfc(device.trim()).chars() {
        if out.len() + c.len_utf8() > 64 {
            break;
        }
        let unfit = matches!(c, '/' | '\\' | '<' | '>' | ':' | '"' | '|' | '?' | '*');
        out.push(if unfit || c.is_control() { '_' } else { c });
    }
    if out.is_empty() { "device".to_owned() } else { out }
}

/// The conflicted-copy path for `path` (relative, `/`-separated): the same folder, the name
/// with `(conflicted copy, DEVICE, STAMP)` before its extension, numbered from 2 while `taken`
/// says a name is in use. A name that would grow past 255 bytes loses the end of its stem.
pub fn conflicted_copy(path: &str, device: &str, stamp: &str, taken: impl Fn(&str) -> bool) -> String {
    let (folder, name) = match path.rsplit_once('/') {
        Some((folder, name)) => (Some(folder), name),
        None => (None, path),
    };
    // The extension is what follows the last dot, unless the dot starts the name (`.bashrc`).
    let (stem, ext) = match name.rfind('.') {
        Some(i) if i > 0 => (&name[..i], &name[i..]),
        _ => (name, ""),
    };
    let device = clean_device(device);
    let mut n = 1;
    loop {
        let count = if n == 1 { String::new() } else { format!(" {n}") };
        let tag = format!(" (conflicted copy{count}, {device}, {stamp})");
        let room = MAX_NAME_LEN.saturating_sub(tag.len() + ext.len());
        let candidate = format!("{}{tag}{ext}", truncate(stem, room));
        let full = match folder {
            Some(folder) => format!("{folder}/{candidate}"),
            None => candidate,
        };
        if !taken(&full) || n >= 1000 {
            return full;
        }
        n += 1;
    }
}

/// At most `max` bytes of `s`, cut at a character boundary.
fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    const STAMP: &str = "2026-11-25 233100";

    #[test]
    fn the_tag_goes_before_the_extension() {
        let none = |_: &str| false;
        assert_eq!(
            conflicted_copy("docs/report.txt", "laptop", STAMP, none),
            "docs/report (conflicted copy, laptop, 2026-11-25 233100).txt"
        );
        assert_eq!(
            conflicted_copy("archive.tar.gz", "pc", STAMP, none),
            "archive.tar (conflicted copy, pc, 2026-11-25 233100).gz"
        );
        assert_eq!(
            conflicted_copy(".bashrc", "pc", STAMP, none),
            ".bashrc (conflicted copy, pc, 2026-11-25 233100)"
        );
        assert_eq!(
            conflicted_copy("Makefile", "pc", STAMP, none),
            "Makefile (conflicted copy, pc, 2026-11-25 233100)"
        );
    }

    #[test]
    fn taken_names_are_numbered_and_devices_cleaned() {
        let first = "a (conflicted copy, my_pc, 2026-11-25 233100).txt";
        let taken = |p: &str| p == first;
        assert_eq!(
            conflicted_copy("a.txt", "my/pc", STAMP, taken),
            "a (conflicted copy 2, my_pc, 2026-11-25 233100).txt"
        );
        assert_eq!(clean_device("  "), "device");
        assert_eq!(clean_device("Zoe\u{301}'s PC: 2\n"), "Zoé's PC_ 2");
    }

    #[test]
    fn long_names_stay_within_the_limit() {
        let long = format!("{}.txt", "é".repeat(200));
        let copy = conflicted_copy(&long, "pc", STAMP, |_| false);
        assert!(copy.len() <= MAX_NAME_LEN, "{}", copy.len());
        assert!(copy.ends_with(", pc, 2026-11-25 233100).txt"));
        assert!(stamp_now().len() == STAMP.len());
    }
}
