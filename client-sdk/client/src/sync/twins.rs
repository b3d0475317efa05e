//! Names a disk takes for one. On a case-insensitive disk `Report.txt` and `report.txt` are one
//! file; on a form-insensitive one, so are the NFC and NFD spellings of a name. The drive can
//! hold both; this disk cannot, so one of them is synced and the others are held, with the
//! reason: never written over the first, and never counted as deleted.

use std::collections::BTreeMap;

use cairn_proto::drive_name::printable;

use super::tree::{BaseTree, Held, Hold, LocalTree, RemoteTree, parent};
use crate::disk::DiskNames;

/// Holds every name of `remote` that this disk would take for another name in the same
/// folder. The one kept is the one the disk already holds, else the one last synced, else the
/// first in order.
pub fn hold_twins(
    remote: &RemoteTree,
    local: &LocalTree,
    base: &BaseTree,
    disk: &DiskNames,
    held: &mut Held,
) {
    if !disk.case_insensitive && !disk.normalization_insensitive {
        return;
    }
    let mut groups: BTreeMap<(&str, String), Vec<&String>> = BTreeMap::new();
    for path in remote.keys() {
        let folder = parent(path).unwrap_or("");
        let name = path.rsplit_once('/').map_or(path.as_str(), |(_, name)| name);
        groups.entry((folder, disk.fold(name).into_owned())).or_default().push(path);
    }
    for twins in groups.into_values().filter(|twins| twins.len() > 1) {
        let keeper = twins
            .iter()
            .find(|p| local.contains_key(p.as_str()))
            .or_else(|| twins.iter().find(|p| base.contains_key(p.as_str())))
            .unwrap_or(&twins[0]);
        for twin in twins.iter().filter(|p| *p != keeper) {
            let reason = format!(
                "differs from {} only in case or Unicode form, which this disk cannot tell apart; \
                 not synced here",
                printable(keeper)
            );
            held.insert((*twin).clone(), Hold { shown: printable(twin).into_owned(), reason });
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::sync::tree::{Local, Remote};

    fn disk(case_insensitive: bool) -> DiskNames {
        DiskNames { windows: false, case_insensitive, normalization_insensitive: case_insensitive }
    }

    #[test]
    fn one_of_each_group_of_twins_is_synced() {
        let remote: RemoteTree = [
            "a/Report.txt",
            "a/report.txt",
            "a/REPORT.TXT",
            "a/other",
            "b/report.txt",
            "Cafe\u{301}",
            "café",
        ]
        .iter()
        .map(|p| ((*p).to_owned(), Remote::Folder))
        .collect();
        let local: LocalTree = [("a/report.txt".to_owned(), Local::Folder)].into();

        let mut held = Held::new();
        hold_twins(&remote, &local, &BaseTree::new(), &disk(false), &mut held);
        assert!(held.is_empty(), "a case-sensitive disk holds them all");

        hold_twins(&remote, &local, &BaseTree::new(), &disk(true), &mut held);
        let keys: Vec<&str> = held.keys().map(String::as_str).collect();
        // The one on the disk is kept; of the others, the first in order.
        assert_eq!(keys, ["a/REPORT.TXT", "a/Report.txt", "café"]);
        assert!(held["a/Report.txt"].reason.contains("a/report.txt"));
    }
}
