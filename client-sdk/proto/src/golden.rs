//! Golden fixtures: today's bytes of every stored and sent kind, which every later build must read.
//!
//! A node of the next release reads what this one wrote (Raft logs, snapshots, state, shards)
//! and talks to nodes of this one during a rolling upgrade, so an encoding may change only by
//! adding a new version or a new kind, never by changing what old bytes mean. A fixture file
//! pins that: one line per kind, `<kind> <lowercase hex of its bytes>`, sorted by kind, under
//! `#` comments saying what the file is. For every sample a test hands to [`Golden`]:
//!
//! - the committed bytes must **decode** to a value equal to the sample (old data stays
//!   readable and means the same), and the sample must **encode** to exactly the committed
//!   bytes (a node of the previous release can read what this one writes);
//! - a kind with no line fails, unless `CAIRN_BLESS=1` is set, which records today's bytes of
//!   the *new* kind (bless never rewrites a line that is there);
//! - a line with no sample fails: old logs may still hold that kind, so it must stay readable.
//!
//! [`Golden::check_enum`] also proves that the samples of an enum cover every variant, without
//! the variants being listed a second time by hand: serde tells the variants' names, and
//! postcard writes a value's variant index as its first varint.
//!
//! This is test support behind the `golden` feature: the only code in `cairn-proto` that opens
//! files, and only test builds of other crates enable it.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::{self, Debug, Display};
use std::path::{Path, PathBuf};

use serde::de::{DeserializeOwned, Visitor};
use serde::{Deserializer, Serialize};

/// The environment variable that, set to `1`, records the bytes of kinds that have no line yet.
pub const BLESS_VAR: &str = "CAIRN_BLESS";

/// One fixture file being checked against a test's samples. Report with [`Golden::finish`],
/// which fails (panics) with every problem found; dropping it unfinished panics too, so a
/// forgotten `finish` cannot pass silently.
pub struct Golden {
    path: PathBuf,
    /// The file's `#` lines, kept as written.
    header: Vec<String>,
    /// Kind → (the line as written, its bytes).
    committed: BTreeMap<String, (String, Vec<u8>)>,
    /// Kinds a sample was checked for.
    checked: BTreeSet<String>,
    /// Kinds without a line, with today's bytes.
    new_kinds: BTreeMap<String, Vec<u8>>,
    failures: Vec<String>,
    bless: bool,
    finished: bool,
}

impl Golden {
    /// Reads the fixture file at `path` (a missing file holds no kinds), to be checked against
    /// samples of `what` ("the Raft commands a log entry carries"), which the file's header names
    /// if this run creates it. Blesses when [`BLESS_VAR`] is `1`.
    #[track_caller]
    pub fn open(path: impl AsRef<Path>, what: &str) -> Self {
        let bless = std::env::var_os(BLESS_VAR).is_some_and(|v| v == "1");
        Self::open_with(path.as_ref(), what, std::panic::Location::caller().file(), bless)
    }

    fn open_with(path: &Path, what: &str, checked_by: &str, bless: bool) -> Self {
        let mut golden = Self {
            path: path.to_owned(),
            header: Vec::new(),
            committed: BTreeMap::new(),
            checked: BTreeSet::new(),
            new_kinds: BTreeMap::new(),
            failures: Vec::new(),
            bless,
            finished: false,
        };
        match std::fs::read_to_string(path) {
            Ok(text) => golden.parse(&text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                golden.header = default_header(what, checked_by);
            }
            Err(e) => golden.failures.push(format!("read {}: {e}", path.display())),
        }
        golden
    }

    fn parse(&mut self, text: &str) {
        for (number, line) in text.lines().enumerate().map(|(i, l)| (i + 1, l.trim_end())) {
            if line.starts_with('#') {
                self.header.push(line.to_owned());
                continue;
            }
            if line.is_empty() {
                continue;
            }
            // A kind whose bytes are empty (an index's value) is its name alone.
            let (kind, hex) = line.split_once(' ').unwrap_or((line, ""));
            match hex::decode(hex) {
                Ok(bytes) => {
                    if self.committed.insert(kind.to_owned(), (line.to_owned(), bytes)).is_some() {
                        self.failures.push(format!(
                            "line {number} holds {kind} a second time: keep the line that an earlier \
                             release committed and delete the other"
                        ));
                    }
                }
                Err(_) => self.failures.push(format!(
                    "line {number} is not `<kind> <hex>`: the bytes are not hex (lines starting with # \
                     are comments)"
                )),
            }
        }
    }

    /// Checks `sample` of `kind` against its committed bytes, with postcard, the encoding of
    /// every stored record and message payload.
    pub fn check<T>(&mut self, kind: &str, sample: &T)
    where
        T: Serialize + DeserializeOwned + PartialEq + Debug,
    {
        self.check_with(kind, sample, postcard_bytes, |bytes| {
            postcard::from_bytes(bytes).map_err(|e| e.to_string())
        })
    }

    /// Checks `sample` of `kind` with the caller's `encode` and `decode`: for hand-written
    /// frames and records, or to go through the very functions the production code calls.
    pub fn check_with<T: PartialEq + Debug>(
        &mut self,
        kind: &str,
        sample: &T,
        encode: impl FnOnce(&T) -> Vec<u8>,
        decode: impl FnOnce(&[u8]) -> Result<T, String>,
    ) {
        if kind.is_empty() || kind.chars().any(char::is_whitespace) {
            self.failures.push(format!("{kind:?} cannot be a kind's name: it must be one word"));
            return;
        }
        if !self.checked.insert(kind.to_owned()) {
            self.failures.push(format!("{kind} was checked twice: give each sample its own kind"));
            return;
        }
        let now = encode(sample);
        let Some((_, committed)) = self.committed.get(kind) else {
            self.new_kinds.insert(kind.to_owned(), now);
            return;
        };
        match decode(committed) {
            Err(e) => self.failures.push(format!(
                "{kind}: the committed bytes no longer decode ({e}): this build could not read what \
                 the previous release wrote or sent — keep the old encoding readable and add a new \
                 version (or a new variant at the end) instead"
            )),
            Ok(decoded) if decoded != *sample => self.failures.push(format!(
                "{kind}: the committed bytes now decode to {decoded:?}, not to the sample {sample:?}: \
                 either the sample changed (restore it: the fixture pins these exact values) or old \
                 bytes would now be read with another meaning (fields reordered or retyped) — keep \
                 the old encoding readable and add a new version instead"
            )),
            Ok(_) => {}
        }
        if now != *committed {
            self.failures.push(format!(
                "the encoding of {kind} changed: a node of the previous release could not read it — \
                 keep the old encoding readable and add a new version instead (committed {}, now {})",
                hex::encode(committed),
                hex::encode(&now)
            ));
        }
    }

    /// Checks a one-byte constant, such as the kind byte that tells a receiver one call from
    /// another: renumbering it makes a node of the previous release take the call for another.
    pub fn check_byte(&mut self, kind: &str, byte: u8) {
        self.check_with(
            kind,
            &byte,
            |b| vec![*b],
            |bytes| match bytes {
                [b] => Ok(*b),
                other => Err(format!("{} bytes, not one", other.len())),
            },
        );
    }

    /// Checks one sample of each variant of the enum `T`, as the kinds `<family>::<Variant>`, and
    /// that the samples cover every variant: the variants are the ones serde knows, each
    /// sample's variant is the index postcard writes first, and a value of the index after the
    /// last must not decode. Prefer samples with distinctive field values (no zeros, no two
    /// fields alike), so that swapped fields change the bytes. A second sample of one variant
    /// (an `Err` inside it, say) goes through [`Golden::check`] under a name of its own.
    pub fn check_enum<T>(&mut self, family: &str, samples: &[T])
    where
        T: Serialize + DeserializeOwned + PartialEq + Debug,
    {
        let variants = match enum_variants::<T>() {
            Ok(variants) => variants,
            Err(e) => {
                self.failures.push(format!("{family}: {e}"));
                return;
            }
        };
        let mut sampled = vec![false; variants.len()];
        for sample in samples {
            let bytes = postcard_bytes(sample);
            let Some(index) = leading_varint(&bytes).and_then(|i| usize::try_from(i).ok()) else {
                self.failures
                    .push(format!("{family}: the encoding of {sample:?} starts with no variant index"));
                continue;
            };
            let Some(variant) = variants.get(index) else {
                self.failures.push(format!(
                    "{family}: {sample:?} encodes variant index {index}, past the {} variants serde names",
                    variants.len()
                ));
                continue;
            };
            if std::mem::replace(&mut sampled[index], true) {
                self.failures.push(format!(
                    "{family}::{variant} has two samples: check the second with `check` under a name of \
                     its own"
                ));
                continue;
            }
            self.check(&format!("{family}::{variant}"), sample);
        }
        let missing: Vec<String> = variants
            .iter()
            .zip(&sampled)
            .filter(|(_, sampled)| !**sampled)
            .map(|(variant, _)| format!("{family}::{variant}"))
            .collect();
        if !missing.is_empty() {
            self.failures.push(format!(
                "no sample of {}: add one to the test (with distinctive field values), then run it with \
                 {BLESS_VAR}=1 to record its bytes",
                missing.join(", ")
            ));
        }
        // The index after the last must be unknown: serde's list and postcard's numbering agree,
        // so every variant a peer or an old log can hold has a sample. The zeros give any fields
        // such a variant had something to decode from.
        let mut past_the_end = varint(variants.len() as u64);
        past_the_end.extend_from_slice(&[0; 64]);
        if postcard::from_bytes::<T>(&past_the_end).is_ok() {
            self.failures.push(format!(
                "{family}: a value of variant index {} decodes, but serde names only {} variants",
                variants.len(),
                variants.len()
            ));
        }
    }

    /// Reports: writes the new kinds into the file when blessing, then panics with every problem
    /// found, if any (at the caller's line).
    #[track_caller]
    pub fn finish(mut self) {
        if let Err(report) = self.conclude() {
            panic!("{report}");
        }
    }

    /// What [`Golden::finish`] does, without the panic.
    fn conclude(&mut self) -> Result<(), String> {
        self.finished = true;
        let mut failures = std::mem::take(&mut self.failures);
        let unsampled: Vec<&str> =
            self.committed.keys().filter(|k| !self.checked.contains(*k)).map(String::as_str).collect();
        if !unsampled.is_empty() {
            failures.push(format!(
                "the file holds {} but the test has no sample of it: an old log, snapshot or peer may \
                 still carry that kind, so it must stay readable — put its sample back (if it was \
                 renamed, rename its line)",
                unsampled.join(", ")
            ));
        }
        if !self.new_kinds.is_empty() {
            let kinds = self.new_kinds.keys().cloned().collect::<Vec<_>>().join(", ");
            if self.bless {
                if let Err(e) = self.write() {
                    failures.push(format!("record {kinds}: {e}"));
                }
            } else {
                failures.push(format!(
                    "no committed bytes for {kinds}: run the test once with {BLESS_VAR}=1 to record \
                     today's bytes of the new kind, and commit the file"
                ));
            }
        }
        if failures.is_empty() {
            return Ok(());
        }
        let list: String = failures.iter().map(|f| format!("\n  - {f}")).collect();
        Err(format!("golden fixtures {}: {} problem(s):{list}", self.path.display(), failures.len()))
    }

    /// The file with the new kinds' lines added; every other line as it was.
    fn write(&self) -> std::io::Result<()> {
        let mut lines: BTreeMap<&str, String> =
            self.committed.iter().map(|(kind, (line, _))| (kind.as_str(), line.clone())).collect();
        for (kind, bytes) in &self.new_kinds {
            lines.insert(kind, format!("{kind} {}", hex::encode(bytes)).trim_end().to_owned());
        }
        let mut text = String::new();
        for line in self.header.iter().chain(lines.values()) {
            text.push_str(line);
            text.push('\n');
        }
        if let Some(parent) = self.path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&self.path, text)
    }
}

impl Drop for Golden {
    fn drop(&mut self) {
        if !self.finished && !std::thread::panicking() {
            panic!(
                "golden fixtures {}: dropped without finish(), so nothing was reported",
                self.path.display()
            );
        }
    }
}

fn default_header(what: &str, checked_by: &str) -> Vec<String> {
    [
        format!("# Golden fixtures of {what}."),
        "# Today's bytes of each kind, one line per kind: `<kind> <lowercase hex of its bytes>`, sorted"
            .into(),
        "# by kind (a kind whose bytes are empty is its name alone). Every later build must decode these"
            .into(),
        "# bytes to the test's sample of the kind and encode the sample to exactly these bytes".into(),
        format!("# (checked by {checked_by}, with cairn_proto::golden)."),
        format!(
            "# To add a kind, add its sample to the test and run the test once with {BLESS_VAR}=1, which"
        ),
        "# records the new line. Never edit or delete a line: old logs, snapshots and peers hold them."
            .into(),
    ]
    .into()
}

/// The names of the variants of the enum `T`, as serde knows them, in declaration order (which
/// is the order of postcard's variant indices); an error if `T` is not an enum.
pub fn enum_variants<T: DeserializeOwned>() -> Result<&'static [&'static str], String> {
    match T::deserialize(Probe) {
        Err(Probed::Enum(variants)) => Ok(variants),
        Err(Probed::Other(e)) => Err(format!("{} is not an enum ({e})", std::any::type_name::<T>())),
        Ok(_) => Err(format!("{} deserialized from nothing", std::any::type_name::<T>())),
    }
}

/// A deserializer that answers nothing and asks an enum for its variants: a derived
/// `Deserialize` hands them to `deserialize_enum`.
struct Probe;

#[derive(Debug)]
enum Probed {
    Enum(&'static [&'static str]),
    Other(String),
}

impl Display for Probed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Probed::Enum(variants) => write!(f, "an enum of {} variants", variants.len()),
            Probed::Other(e) => f.write_str(e),
        }
    }
}

impl std::error::Error for Probed {}

impl serde::de::Error for Probed {
    fn custom<M: Display>(message: M) -> Self {
        Probed::Other(message.to_string())
    }
}

impl<'de> Deserializer<'de> for Probe {
    type Error = Probed;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Probed> {
        Err(Probed::Other("its Deserialize asks for something else".into()))
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        variants: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Probed> {
        Err(Probed::Enum(variants))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option
        unit unit_struct newtype_struct seq tuple tuple_struct map struct identifier ignored_any
    }
}

fn postcard_bytes<T: Serialize>(value: &T) -> Vec<u8> {
    // postcard fails only on what serde cannot describe (a map of unknown length, say), which
    // no type of ours is; the empty encoding then fails its check visibly.
    postcard::to_stdvec(value).unwrap_or_default()
}

/// The unsigned LEB128 varint at the start of `bytes`, as postcard writes an enum's variant
/// index (a `u32`).
fn leading_varint(bytes: &[u8]) -> Option<u32> {
    let mut value: u64 = 0;
    for (i, byte) in bytes.iter().take(5).enumerate() {
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return u32::try_from(value).ok();
        }
    }
    None
}

fn varint(mut value: u64) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let low = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(low);
            return out;
        }
        out.push(low | 0x80);
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    enum Shape {
        Dot,
        Line { from: u32, to: u32 },
        Named(String),
    }

    /// `Shape` as a later build might spell it, with `Line`'s fields swapped.
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    enum SwappedShape {
        Dot,
        Line { to: u32, from: u32 },
        Named(String),
    }

    fn samples() -> Vec<Shape> {
        vec![Shape::Dot, Shape::Line { from: 3, to: 300 }, Shape::Named("ada".into())]
    }

    fn open(path: &Path, bless: bool) -> Golden {
        Golden::open_with(path, "shapes", "this test", bless)
    }

    /// Records the samples of `Shape` into a fresh file and returns its folder and path.
    fn blessed() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("golden").join("shapes.txt");
        let mut golden = open(&path, true);
        golden.check_enum("Shape", &samples());
        golden.check("point", &(7u8, 9u64));
        golden.conclude().unwrap();
        (dir, path)
    }

    fn report(golden: &mut Golden) -> String {
        golden.conclude().unwrap_err()
    }

    #[test]
    fn bless_writes_a_header_and_sorted_lines_that_then_pass() {
        let (_dir, path) = blessed();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("# Golden fixtures of shapes"), "{text}");
        assert!(text.contains("CAIRN_BLESS=1"), "{text}");
        let entries: Vec<&str> = lines.iter().copied().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(
            entries,
            [
                "Shape::Dot 00",
                "Shape::Line 0103ac02",
                &format!("Shape::Named 0203{}", hex::encode("ada")),
                "point 0709"
            ]
        );

        let mut again = open(&path, false);
        again.check_enum("Shape", &samples());
        again.check("point", &(7u8, 9u64));
        again.conclude().unwrap();
    }

    #[test]
    fn a_changed_encoding_fails_both_ways() {
        let (_dir, path) = blessed();
        let mut golden = open(&path, false);
        golden.check_with(
            "Shape::Line",
            &SwappedShape::Line { from: 3, to: 300 },
            |s| postcard::to_stdvec(s).unwrap(),
            |b| postcard::from_bytes(b).map_err(|e| e.to_string()),
        );
        golden.check("Shape::Dot", &Shape::Dot);
        golden.check("Shape::Named", &Shape::Named("ada".into()));
        golden.check("point", &(7u8, 9u64));
        let report = report(&mut golden);
        assert!(report.contains("the encoding of Shape::Line changed"), "{report}");
        assert!(report.contains("committed 0103ac02, now 01ac0203"), "{report}");
        assert!(report.contains("now decode to Line { to: 3, from: 300 }"), "{report}");
        assert!(report.contains("2 problem(s)"), "{report}");
    }

    #[test]
    fn bytes_that_no_longer_decode_fail() {
        let (_dir, path) = blessed();
        let mut golden = open(&path, false);
        golden.check_enum("Shape", &samples());
        // A later build that made the point's second field a string cannot read the old bytes.
        golden.check_with(
            "point",
            &(7u8, "9".to_owned()),
            |_| vec![7, 9],
            |b| postcard::from_bytes::<(u8, String)>(b).map_err(|e| e.to_string()),
        );
        let report = report(&mut golden);
        assert!(report.contains("point: the committed bytes no longer decode"), "{report}");
    }

    #[test]
    fn a_kind_without_a_line_fails_unless_blessed_and_bless_keeps_other_lines() {
        let (_dir, path) = blessed();
        // A line as an earlier release wrote it, in capitals: bless must leave it alone.
        let text =
            std::fs::read_to_string(&path).unwrap().replace("Shape::Line 0103ac02", "Shape::Line 0103AC02");
        std::fs::write(&path, &text).unwrap();

        let mut golden = open(&path, false);
        golden.check_enum("Shape", &samples());
        golden.check("point", &(7u8, 9u64));
        golden.check("circle", &(1u8, 2u8));
        let report = report(&mut golden);
        assert!(report.contains("no committed bytes for circle"), "{report}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text, "a failed check writes nothing");

        let mut golden = open(&path, true);
        golden.check_enum("Shape", &samples());
        golden.check("point", &(7u8, 9u64));
        golden.check("circle", &(1u8, 2u8));
        golden.conclude().unwrap();
        let blessed = std::fs::read_to_string(&path).unwrap();
        assert_eq!(blessed.replace("circle 0102\n", ""), text);
        assert!(blessed.find("Shape::Named").unwrap() < blessed.find("circle").unwrap());
    }

    #[test]
    fn a_line_without_a_sample_fails_even_when_blessing() {
        let (_dir, path) = blessed();
        let mut golden = open(&path, true);
        golden.check_enum("Shape", &samples());
        let report = report(&mut golden);
        assert!(report.contains("the file holds point but the test has no sample of it"), "{report}");
    }

    #[test]
    fn every_variant_needs_exactly_one_sample() {
        let (_dir, path) = blessed();
        let mut golden = open(&path, false);
        golden.check_enum("Shape", &[Shape::Dot, Shape::Named("ada".into()), Shape::Dot]);
        golden.check("point", &(7u8, 9u64));
        let report = report(&mut golden);
        assert!(report.contains("no sample of Shape::Line"), "{report}");
        assert!(report.contains("Shape::Dot has two samples"), "{report}");
        assert!(report.contains("the file holds Shape::Line"), "{report}");
    }

    #[test]
    fn variants_come_from_serde_and_a_non_enum_is_refused() {
        assert_eq!(enum_variants::<Shape>().unwrap(), ["Dot", "Line", "Named"]);
        assert_eq!(enum_variants::<Result<u8, String>>().unwrap(), ["Ok", "Err"]);
        assert!(enum_variants::<(u8, u64)>().unwrap_err().contains("is not an enum"));
        let dir = tempfile::tempdir().unwrap();
        let mut golden = open(&dir.path().join("x.txt"), true);
        golden.check_enum("point", &[(1u8, 2u8)]);
        assert!(report(&mut golden).contains("is not an enum"));
    }

    /// An enum whose hand-written `Deserialize` names one variant to serde but reads any index.
    #[derive(Debug, PartialEq, Serialize)]
    enum Lying {
        Only,
    }

    impl<'de> Deserialize<'de> for Lying {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            struct AnyIndex;
            impl<'de> Visitor<'de> for AnyIndex {
                type Value = Lying;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("a Lying")
                }
                fn visit_enum<A: serde::de::EnumAccess<'de>>(self, data: A) -> Result<Lying, A::Error> {
                    let (_, variant): (u32, _) = data.variant()?;
                    serde::de::VariantAccess::unit_variant(variant)?;
                    Ok(Lying::Only)
                }
            }
            deserializer.deserialize_enum("Lying", &["Only"], AnyIndex)
        }
    }

    #[test]
    fn an_index_past_the_named_variants_must_not_decode() {
        let dir = tempfile::tempdir().unwrap();
        let mut golden = open(&dir.path().join("lying.txt"), true);
        golden.check_enum("Lying", &[Lying::Only]);
        let report = report(&mut golden);
        assert!(
            report.contains("a value of variant index 1 decodes, but serde names only 1 variants"),
            "{report}"
        );
    }

    #[test]
    fn malformed_and_repeated_lines_fail() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.txt");
        std::fs::write(&path, "# header\npoint 0709\npoint 0709\nodd 0g\nempty  \n").unwrap();
        let mut golden = open(&path, false);
        golden.check("point", &(7u8, 9u64));
        golden.check("empty", &());
        let report = report(&mut golden);
        assert!(report.contains("line 3 holds point a second time"), "{report}");
        assert!(report.contains("line 4 is not `<kind> <hex>`: the bytes are not hex"), "{report}");
        assert!(report.contains("2 problem(s)"), "an empty kind with trailing blanks is fine: {report}");
    }

    #[test]
    fn an_empty_kind_is_written_as_its_name_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("empty.txt");
        let mut golden = open(&path, true);
        golden.check("index", &());
        golden.conclude().unwrap();
        assert!(std::fs::read_to_string(&path).unwrap().ends_with("\nindex\n"));
        let mut again = open(&path, false);
        again.check("index", &());
        again.conclude().unwrap();
    }

    #[test]
    fn varints_read_and_write_as_postcard_does() {
        for n in [0u32, 1, 127, 128, 300, 16_384, u32::MAX] {
            assert_eq!(varint(u64::from(n)), postcard::to_stdvec(&n).unwrap());
            assert_eq!(leading_varint(&varint(u64::from(n))), Some(n));
        }
        assert_eq!(leading_varint(&[0x80]), None);
    }

    #[test]
    #[should_panic(expected = "dropped without finish()")]
    fn dropping_unfinished_panics() {
        let dir = tempfile::tempdir().unwrap();
        let mut golden = open(&dir.path().join("x.txt"), false);
        golden.check("point", &(7u8, 9u64));
    }
}
