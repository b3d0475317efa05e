//! Drives as stored: namespaces, the folder tree, files and their versions, their keys, and
//! how they are read. Writing into a drive is [`super::commit`]'s.

use cairn_proto::DrivePath;
use serde::{Deserialize, Serialize};

use super::blocks::BlockRef;
use super::ids::{DeviceId, FileId, NamespaceId, UserId};
use super::txn::decode;
use super::{Space, StateError, StateRead};

/// A namespace as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Namespace {
    /// Its id.
    pub id: NamespaceId,
    /// Whose it is; blocks committed into it are stored in the owner's account.
    pub owner: UserId,
}

/// Whether an entry is a folder or a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum EntryKind {
    /// A folder.
    Folder,
    /// A file.
    File(FileId),
}

/// A name in a folder.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryRecord {
    /// Folder or file.
    pub kind: EntryKind,
    /// When the name was created.
    pub created_ms: u64,
}

/// Where a file is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FileStatus {
    /// Its head version's blocks are still arriving; other devices see it but should not fetch.
    Uploading,
    /// Its head version is complete.
    Complete,
    /// It is in the trash: listed with this status, restorable, its blocks still referenced.
    Trashed,
}

/// A file as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRecord {
    /// Its id.
    pub id: FileId,
    /// The namespace it is in.
    pub namespace: NamespaceId,
    /// Its path.
    pub path: DrivePath,
    /// The newest version's number (versions count from 1).
    pub head: u64,
    /// Upload status of the head version.
    pub status: FileStatus,
    /// Size of the head version.
    pub size: u64,
}

/// What a version holds, the same whether a client proposes it ([`NewVersion`]) or the cluster
/// stores it ([`VersionRecord`]). Both hold it in one place, in the position its fields had when
/// each struct listed them itself: postcard encodes a nested struct as its fields in order, so
/// the stored and proposed bytes are the same as before it was shared.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionContent {
    /// The file's content, block by block.
    pub blocks: Vec<BlockRef>,
    /// Total size: the sum of the block lengths.
    pub size: u64,
    /// blake3 of the whole content, checked by clients after a download.
    pub hash: [u8; 32],
    /// The file's modification time on the device that committed it.
    pub mtime_ms: u64,
    /// The device that committed it, if the commit named one; it must be a registered device of
    /// the author.
    pub device: Option<DeviceId>,
    /// Whether a node computed `hash` from the bytes themselves (a simple upload, a tus upload
    /// whose bytes it received) rather than taking the client's word for it (a commit of a
    /// block list). Only a verified hash says what the content is.
    pub hash_verified: bool,
}

/// One committed version of a file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionRecord {
    /// Its number.
    pub version: u64,
    /// Its content, and where and when it was made.
    pub content: VersionContent,
    /// The committing device's name when it committed (empty if none): history and conflicted
    /// copies show it, and it survives the device's removal.
    pub device_name: String,
    /// Who committed it.
    pub author: UserId,
    /// When the cluster committed it.
    pub committed_ms: u64,
    /// A pinned version is never removed by retention.
    pub pinned: bool,
}

/// A new version, as a client proposes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewVersion {
    /// Where.
    pub namespace: NamespaceId,
    /// The file's path; missing parent folders are created.
    pub path: DrivePath,
    /// The head version the client's change is based on; `None` for a file that must not exist
    /// yet. A commit whose base is not the current head is refused: first writer wins.
    pub base: Option<u64>,
    /// The content; its size must equal the sum of the block lengths.
    pub content: VersionContent,
    /// Who commits.
    pub author: UserId,
    /// Whether all blocks are stored yet (`Complete`) or still arriving (`Uploading`).
    pub status: FileStatus,
}

pub(super) fn entry_key(namespace: NamespaceId, path: &DrivePath) -> Vec<u8> {
    let (parent, name) = path.split_last().unwrap_or((DrivePath::root(), ""));
    let mut key = children_prefix(namespace, &parent);
    key.extend_from_slice(name.as_bytes());
    key
}

pub(super) fn children_prefix(namespace: NamespaceId, folder: &DrivePath) -> Vec<u8> {
    let mut key = namespace.0.to_be_bytes().to_vec();
    key.extend_from_slice(folder.as_str().as_bytes());
    key.push(0);
    key
}

pub(super) fn version_key(file: FileId, version: u64) -> [u8; 16] {
    let mut key = [0u8; 16];
    key[..8].copy_from_slice(&file.0.to_be_bytes());
    key[8..].copy_from_slice(&version.to_be_bytes());
    key
}

/// What is at `path`: the entry, and the file record for a file.
pub fn stat(
    state: &(impl StateRead + ?Sized),
    namespace: NamespaceId,
    path: &DrivePath,
) -> Result<Option<(EntryRecord, Option<FileRecord>)>, StateError> {
    if path.is_root() {
        return Ok(Some((EntryRecord { kind: EntryKind::Folder, created_ms: 0 }, None)));
    }
    let Some(bytes) = state.get(Space::Entries, &entry_key(namespace, path))? else { return Ok(None) };
    let entry: EntryRecord = decode(Space::Entries, &bytes)?;
    let file = match entry.kind {
        EntryKind::File(id) => {
            state.get(Space::Files, &id.0.to_be_bytes())?.map(|b| decode(Space::Files, &b)).transpose()?
        }
        EntryKind::Folder => None,
    };
    Ok(Some((entry, file)))
}

/// Up to `limit` entries below `folder` (not `folder` itself), at any depth, with their paths,
/// in key order. A subtree is two ranges of entry keys: the folder's children, (namespace,
/// folder, NUL, name), and everything deeper, whose parent paths start with "folder/".
pub(super) fn below(
    state: &(impl StateRead + ?Sized),
    namespace: NamespaceId,
    folder: &DrivePath,
    limit: usize,
) -> Result<Vec<(DrivePath, EntryRecord)>, StateError> {
    let ns = namespace.0.to_be_bytes();
    let prefixes = if folder.is_root() {
        vec![ns.to_vec()]
    } else {
        vec![children_prefix(namespace, folder), [&ns[..], folder.as_str().as_bytes(), b"/"].concat()]
    };
    let mut out = Vec::new();
    for prefix in prefixes {
        let room = limit.saturating_sub(out.len());
        if room == 0 {
            break;
        }
        for (key, value) in state.scan(Space::Entries, &prefix, None, room)? {
            out.push((path_of_entry_key(&key)?, decode(Space::Entries, &value)?));
        }
    }
    Ok(out)
}

/// The path an entry key stands for: the inverse of [`entry_key`].
fn path_of_entry_key(key: &[u8]) -> Result<DrivePath, StateError> {
    let bad = |message: String| StateError::Decode { space: Space::Entries, message };
    let rest = key.get(8..).ok_or_else(|| bad("entry key shorter than a namespace id".into()))?;
    // Paths contain no NUL, so the first one ends the parent's path.
    let nul = rest.iter().position(|b| *b == 0).ok_or_else(|| bad("entry key without a NUL".into()))?;
    let (parent, name) = rest.split_at(nul);
    let (Ok(parent), Ok(name)) = (std::str::from_utf8(parent), std::str::from_utf8(&name[1..])) else {
        return Err(bad("entry key is not UTF-8".into()));
    };
    let joined = if parent.is_empty() { name.to_owned() } else { format!("{parent}/{name}") };
    DrivePath::from_stored(&joined).map_err(|e| bad(e.to_string()))
}

/// Up to `limit` children of `folder`, by name, after the name `after`.
pub fn list(
    state: &(impl StateRead + ?Sized),
    namespace: NamespaceId,
    folder: &DrivePath,
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<(String, EntryRecord)>, StateError> {
    let prefix = children_prefix(namespace, folder);
    let after_key = after.map(|name| [prefix.as_slice(), name.as_bytes()].concat());
    state
        .scan(Space::Entries, &prefix, after_key.as_deref(), limit)?
        .into_iter()
        .map(|(key, value)| {
            let name = String::from_utf8_lossy(&key[prefix.len()..]).into_owned();
            Ok((name, decode(Space::Entries, &value)?))
        })
        .collect()
}

/// Up to `limit` versions of `file`, newest first.
pub fn versions(
    state: &(impl StateRead + ?Sized),
    file: FileId,
    limit: usize,
) -> Result<Vec<VersionRecord>, StateError> {
    versions_from(state, file, u64::MAX, limit)
}

/// Up to `limit` of a file's versions numbered `newest` and below, newest first: how a client
/// pages back through a long history, or reads one old version (`limit` 1).
pub fn versions_from(
    state: &(impl StateRead + ?Sized),
    file: FileId,
    newest: u64,
    limit: usize,
) -> Result<Vec<VersionRecord>, StateError> {
    let Some(bytes) = state.get(Space::Files, &file.0.to_be_bytes())? else { return Ok(Vec::new()) };
    let record: FileRecord = decode(Space::Files, &bytes)?;
    let mut out = Vec::new();
    for version in (1..=record.head.min(newest)).rev().take(limit) {
        if let Some(bytes) = state.get(Space::Versions, &version_key(file, version))? {
            out.push(decode(Space::Versions, &bytes)?);
        }
    }
    Ok(out)
}

/// A user's drive namespace.
pub fn namespace(
    state: &(impl StateRead + ?Sized),
    id: NamespaceId,
) -> Result<Option<Namespace>, StateError> {
    state.get(Space::Namespaces, &id.0.to_be_bytes())?.map(|b| decode(Space::Namespaces, &b)).transpose()
}

#[cfg(test)]
mod tests {
    use cairn_proto::BlockId;

    use super::*;

    /// How `VersionRecord` and `NewVersion` were laid out before they shared `VersionContent`,
    /// with `hash_verified` after `device` (added since, which changed the stored format): the
    /// shared struct must encode its fields in the same places.
    #[derive(Serialize)]
    struct FlatVersionRecord {
        version: u64,
        blocks: Vec<BlockRef>,
        size: u64,
        hash: [u8; 32],
        mtime_ms: u64,
        device: Option<DeviceId>,
        hash_verified: bool,
        device_name: String,
        author: UserId,
        committed_ms: u64,
        pinned: bool,
    }

    #[derive(Serialize)]
    struct FlatNewVersion {
        namespace: NamespaceId,
        path: DrivePath,
        base: Option<u64>,
        blocks: Vec<BlockRef>,
        size: u64,
        hash: [u8; 32],
        mtime_ms: u64,
        device: Option<DeviceId>,
        hash_verified: bool,
        author: UserId,
        status: FileStatus,
    }

    fn content() -> VersionContent {
        let blocks =
            vec![BlockRef { id: BlockId::of(b"a"), len: 1 }, BlockRef { id: BlockId::of(b"bc"), len: 2 }];
        VersionContent {
            blocks,
            size: 3,
            hash: [7; 32],
            mtime_ms: 1_700_000_000_000,
            device: Some(DeviceId(4)),
            hash_verified: true,
        }
    }

    #[test]
    fn versions_encode_exactly_as_before_they_shared_their_content() {
        let c = content();
        let record = VersionRecord {
            version: 9,
            content: c.clone(),
            device_name: "laptop".into(),
            author: UserId(2),
            committed_ms: 1_700_000_000_123,
            pinned: true,
        };
        let flat = FlatVersionRecord {
            version: 9,
            blocks: c.blocks.clone(),
            size: c.size,
            hash: c.hash,
            mtime_ms: c.mtime_ms,
            device: c.device,
            hash_verified: c.hash_verified,
            device_name: "laptop".into(),
            author: UserId(2),
            committed_ms: 1_700_000_000_123,
            pinned: true,
        };
        let bytes = postcard::to_stdvec(&flat).unwrap();
        assert_eq!(postcard::to_stdvec(&record).unwrap(), bytes);
        assert_eq!(postcard::from_bytes::<VersionRecord>(&bytes).unwrap(), record);

        let path = DrivePath::parse("docs/a.txt").unwrap();
        let new = NewVersion {
            namespace: NamespaceId(1),
            path: path.clone(),
            base: Some(8),
            content: c.clone(),
            author: UserId(2),
            status: FileStatus::Uploading,
        };
        let flat = FlatNewVersion {
            namespace: NamespaceId(1),
            path,
            base: Some(8),
            blocks: c.blocks,
            size: c.size,
            hash: c.hash,
            mtime_ms: c.mtime_ms,
            device: c.device,
            hash_verified: c.hash_verified,
            author: UserId(2),
            status: FileStatus::Uploading,
        };
        let bytes = postcard::to_stdvec(&flat).unwrap();
        assert_eq!(postcard::to_stdvec(&new).unwrap(), bytes);
        assert_eq!(postcard::from_bytes::<NewVersion>(&bytes).unwrap(), new);
    }
}
