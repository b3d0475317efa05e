//! Devices: the laptops, phones and servers a user syncs from, so history and conflicted copies
//! can say where a version came from.

use serde::{Deserialize, Serialize};

use super::ids::{DeviceId, UserId};
use super::txn::decode;
use super::{Rejection, Response, Space, StateError, StateRead, Txn};

/// A device as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceRecord {
    /// Its id.
    pub id: DeviceId,
    /// Whose device it is.
    pub user: UserId,
    /// What the user calls it ("laptop", "Ada's phone"); shown in history and in the names of
    /// conflicted copies.
    pub name: String,
    /// When it was registered.
    pub created_ms: u64,
}

/// Longest device name, in characters.
const MAX_DEVICE_NAME: usize = 64;

fn key(user: UserId, device: DeviceId) -> [u8; 16] {
    let mut key = [0u8; 16];
    key[..8].copy_from_slice(&user.0.to_be_bytes());
    key[8..].copy_from_slice(&device.0.to_be_bytes());
    key
}

fn check_name(name: &str) -> Result<(), Rejection> {
    let invalid = |reason: &str| Rejection::InvalidName { name: name.into(), reason: reason.into() };
    let len = name.chars().count();
    if len == 0 || len > MAX_DEVICE_NAME {
        return Err(invalid("a device name must be 1 to 64 characters"));
    }
    // It ends up inside file names ("a (conflicted copy, laptop, …).txt").
    if name.chars().any(|c| c.is_control() || c == '/' || c == '\\') {
        return Err(invalid("a device name may not contain control characters or slashes"));
    }
    Ok(())
}

pub(super) fn register<R: StateRead + ?Sized>(
    txn: &mut Txn<R>,
    time_ms: u64,
    user: UserId,
    name: &str,
) -> Result<Response, StateError> {
    if let Err(rejection) = check_name(name) {
        return Ok(Response::Rejected(rejection));
    }
    if txn.get_raw(Space::Users, &user.0.to_be_bytes())?.is_none() {
        return Ok(Response::Rejected(Rejection::NoSuchUser(user)));
    }
    let id = DeviceId(txn.next_id("device")?);
    txn.put(
        Space::Devices,
        &key(user, id),
        &DeviceRecord { id, user, name: name.into(), created_ms: time_ms },
    );
    Ok(Response::DeviceRegistered { device: id })
}

/// Removes a device. Versions it committed keep its name; later commits may not name it.
pub(super) fn remove<R: StateRead + ?Sized>(
    txn: &mut Txn<R>,
    user: UserId,
    device: DeviceId,
) -> Result<Response, StateError> {
    if txn.get_raw(Space::Devices, &key(user, device))?.is_none() {
        return Ok(Response::Rejected(Rejection::NoSuchDevice { user, device }));
    }
    txn.delete(Space::Devices, &key(user, device));
    Ok(Response::DeviceRemoved)
}

/// A device of `user`, if it is registered to that user.
pub fn device(
    state: &(impl StateRead + ?Sized),
    user: UserId,
    device: DeviceId,
) -> Result<Option<DeviceRecord>, StateError> {
    state.get(Space::Devices, &key(user, device))?.map(|b| decode(Space::Devices, &b)).transpose()
}

/// Up to `limit` devices of `user`, by id, after `after`.
pub fn devices(
    state: &(impl StateRead + ?Sized),
    user: UserId,
    after: Option<DeviceId>,
    limit: usize,
) -> Result<Vec<DeviceRecord>, StateError> {
    let after = after.map(|d| key(user, d));
    state
        .scan(Space::Devices, &user.0.to_be_bytes(), after.as_ref().map(|k| k.as_slice()), limit)?
        .into_iter()
        .map(|(_, value)| decode(Space::Devices, &value))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::drive::{FileStatus, NewVersion, VersionContent, versions};
    use crate::model::testkit::{ADA, ADA_DRIVE, BOB, World, path, refs};
    use crate::model::{Command, drive};

    fn register(world: &mut World, user: UserId, name: &str) -> DeviceId {
        match world.run(Command::RegisterDevice { user, name: name.into() }) {
            Response::DeviceRegistered { device } => device,
            other => panic!("register {name} gave {other:?}"),
        }
    }

    fn commit_from(world: &mut World, device: DeviceId, base: Option<u64>) -> Response {
        world.run(Command::CommitVersion(NewVersion {
            namespace: ADA_DRIVE,
            path: path("a.txt"),
            base,
            content: VersionContent {
                blocks: refs(&[b"one"]),
                size: 3,
                hash: [0; 32],
                mtime_ms: 0,
                device: Some(device),
                hash_verified: false,
            },
            author: ADA,
            status: FileStatus::Complete,
        }))
    }

    #[test]
    fn devices_are_listed_per_user_and_removed() {
        let mut w = World::new();
        let laptop = register(&mut w, ADA, "laptop");
        let phone = register(&mut w, ADA, "Ada's phone");
        let bobs = register(&mut w, BOB, "desktop");
        assert_eq!(
            devices(&w.state, ADA, None, 10).unwrap().iter().map(|d| d.id).collect::<Vec<_>>(),
            [laptop, phone]
        );
        assert_eq!(devices(&w.state, ADA, Some(laptop), 10).unwrap()[0].name, "Ada's phone");
        assert_eq!(devices(&w.state, BOB, None, 10).unwrap()[0].id, bobs);

        assert_eq!(w.run(Command::RemoveDevice { user: ADA, device: laptop }), Response::DeviceRemoved);
        assert_eq!(devices(&w.state, ADA, None, 10).unwrap().len(), 1);
        // Bob cannot remove Ada's device: it is not his.
        assert_eq!(
            w.run(Command::RemoveDevice { user: BOB, device: phone }),
            Response::Rejected(Rejection::NoSuchDevice { user: BOB, device: phone })
        );
    }

    #[test]
    fn bad_device_names_and_unknown_users_are_refused() {
        let mut w = World::new();
        for name in ["", "a/b", "tab\there", &"x".repeat(65)] {
            let r = w.run(Command::RegisterDevice { user: ADA, name: name.into() });
            assert!(matches!(r, Response::Rejected(Rejection::InvalidName { .. })), "{name:?}: {r:?}");
        }
        assert_eq!(
            w.run(Command::RegisterDevice { user: UserId(9), name: "x".into() }),
            Response::Rejected(Rejection::NoSuchUser(UserId(9)))
        );
    }

    #[test]
    fn a_commit_names_only_a_device_of_its_author_and_history_keeps_the_name() {
        let mut w = World::new();
        let laptop = register(&mut w, ADA, "laptop");
        let bobs = register(&mut w, BOB, "desktop");
        assert_eq!(
            commit_from(&mut w, bobs, None),
            Response::Rejected(Rejection::NoSuchDevice { user: ADA, device: bobs })
        );
        let Response::Committed { file, .. } = commit_from(&mut w, laptop, None) else { panic!() };
        w.run(Command::RemoveDevice { user: ADA, device: laptop });
        assert_eq!(
            commit_from(&mut w, laptop, Some(1)),
            Response::Rejected(Rejection::NoSuchDevice { user: ADA, device: laptop })
        );
        let history = versions(&w.state, file, 10).unwrap();
        assert_eq!((history[0].content.device, history[0].device_name.as_str()), (Some(laptop), "laptop"));
        assert!(drive::stat(&w.state, ADA_DRIVE, &path("a.txt")).unwrap().is_some());
    }
}
