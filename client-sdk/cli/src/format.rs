//! Formatting for people: sizes, times, drive paths, durations typed on the command line.

use std::time::{Duration, UNIX_EPOCH};

use cairn_client::drive::drive_path;

use crate::exit::Failure;

/// A size in binary units (`1.50 MiB`).
pub fn size(bytes: u64) -> String {
    indicatif::HumanBytes(bytes).to_string()
}

/// A time given in ms since the epoch, as an HTTP date (`Tue, 15 Nov 1994 08:12:31 GMT`):
/// unambiguous, in UTC, and formatted by a crate the workspace already has.
pub fn time(ms: u64) -> String {
    httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_millis(ms))
}

/// `n` and the noun, plural unless `n` is 1 (`1 file`, `3 files`).
pub fn count(n: usize, noun: &str) -> String {
    if n == 1 { format!("1 {noun}") } else { format!("{n} {noun}s") }
}

/// Parses a duration such as `90s`, `30m`, `12h`, `7d` or `2w` (a number and one unit).
/// Written here because these five units are all a link's expiry needs; a crate for it
/// would bring a grammar nobody types.
pub fn duration(text: &str) -> Result<Duration, Failure> {
    let bad = || Failure::bad_input(format!("{text:?} is not a duration like 30m, 12h, 7d or 2w"));
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().map_err(|_| bad())?;
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => return Err(bad()),
    };
    let total = number.checked_mul(seconds).filter(|s| *s > 0).ok_or_else(bad)?;
    Ok(Duration::from_secs(total))
}

/// A drive path as people read it: with a leading `/`, and control characters escaped (a
/// path the drive sent may come from another person, or from before names were checked).
pub fn shown(path: &str) -> String {
    let path = match drive_path(path) {
        Ok(p) => format!("/{}", p.as_str()),
        Err(_) => path.to_owned(),
    };
    cairn_proto::printable(&path).into_owned()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Test code: a panic is a failure report.
mod tests {
    use super::*;

    #[test]
    fn durations_parse_in_five_units() {
        assert_eq!(duration("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(duration("30m").unwrap(), Duration::from_secs(1_800));
        assert_eq!(duration("12h").unwrap(), Duration::from_secs(43_200));
        assert_eq!(duration("7d").unwrap(), Duration::from_secs(604_800));
        assert_eq!(duration("2w").unwrap(), Duration::from_secs(1_209_600));
        for bad in ["", "7", "d", "7x", "-1d", "0d", "1.5h", "99999999999999999999d"] {
            assert!(duration(bad).is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn times_are_http_dates() {
        assert_eq!(time(784_887_151_000), "Tue, 15 Nov 1994 08:12:31 GMT");
    }
}
