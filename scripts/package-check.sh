#!/usr/bin/env bash
# `make package-check`: the Debian package in a throw-away Debian root (debootstrap, no
# container), as root. It installs the package, checks the user, the modes and the unit
# (systemd-analyze verify, inside the root), makes a cluster of one node there with the
# packaged config and starts it as the cairn user, upgrades to a copy of the package with a
# higher version, removes it (data and secrets stay), and purges it (they still stay).
# The Debian root is kept in target/package-root between runs; DEB_ROOT_FRESH=1 makes a new one.
set -euo pipefail

cd "$(dirname "$0")/.."
DEB=$(ls -t target/debian/cairn_*.deb 2>/dev/null | head -1)
[[ -n $DEB ]] || { echo "no package in target/debian: make deb" >&2; exit 1; }
[[ $(id -u) = 0 ]] || { echo "package-check needs root (debootstrap, chroot)" >&2; exit 1; }
command -v debootstrap >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap

ROOT=$PWD/target/package-root
SUITE=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
if [[ ${DEB_ROOT_FRESH:-0} = 1 ]]; then rm -rf "$ROOT"; fi
if [[ ! -x $ROOT/usr/bin/systemd-analyze ]]; then
    echo "== debootstrap $SUITE into $ROOT"
    rm -rf "$ROOT"
    debootstrap --include=systemd,adduser "$SUITE" "$ROOT" http://deb.debian.org/debian >/dev/null
fi

NODE=""
cleanup() {
    [[ -n $NODE ]] && kill "$NODE" 2>/dev/null || true
    for m in proc dev; do umount -l "$ROOT/$m" 2>/dev/null || true; done
}
trap cleanup EXIT
mount -t proc proc "$ROOT/proc"
mount --bind /dev "$ROOT/dev"

in_root() { chroot "$ROOT" "$@"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "== $*"; }
# Starts from no package at all, whatever an earlier run left.
in_root dpkg --purge cairn >/dev/null 2>&1 || true
rm -rf "$ROOT/var/lib/cairn" "$ROOT/etc/cairn"

step "install $(basename "$DEB")"
cp "$DEB" "$ROOT/tmp/cairn.deb"
in_root dpkg -i /tmp/cairn.deb
in_root cairn-node --version
in_root cairn --version
in_root getent passwd cairn >/dev/null || fail "no cairn user"
# Owners by name inside the root: its user ids need not be the host's.
mode() { in_root stat -c "$1" "$2"; }
[[ $(mode '%a %U' /var/lib/cairn) = "700 cairn" ]] || fail "/var/lib/cairn is $(mode '%a %U' /var/lib/cairn)"
[[ $(mode '%a %U %G' /etc/cairn/node.toml) = "640 root cairn" ]] || fail "node.toml is $(mode '%a %U %G' /etc/cairn/node.toml)"

step "systemd-analyze verify cairn-node.service"
in_root systemd-analyze verify --man=no /lib/systemd/system/cairn-node.service

step "a cluster of one node from the packaged config, run as the cairn user"
# The packaged config names documentation addresses; a node in this root gets loopback ones.
sed -i -e 's/^listen = .*/listen = "127.0.0.1:17100"/' -e 's/^advertise = .*/advertise = "127.0.0.1:17100"/' \
    -e 's/^api = .*/api = "127.0.0.1:18100"/' -e 's/^api_names = .*/api_names = []/' \
    -e 's/^reserve_disk_bytes.*//' "$ROOT/etc/cairn/node.toml"
echo 'reserve_disk_bytes = 0' >>"$ROOT/etc/cairn/node.toml"
in_root runuser -u cairn -- cairn-node init -c /etc/cairn/node.toml 2>"$ROOT/tmp/init.log" ||
    { cat "$ROOT/tmp/init.log"; fail "init failed"; }
chroot "$ROOT" runuser -u cairn -- cairn-node start -c /etc/cairn/node.toml >"$ROOT/tmp/node.log" 2>&1 &
NODE=$!
for _ in $(seq 120); do
    if in_root runuser -u cairn -- cairn-node status -c /etc/cairn/node.toml 2>/dev/null | grep -q "leader node"; then break; fi
    kill -0 "$NODE" 2>/dev/null || { cat "$ROOT/tmp/node.log"; fail "the node stopped"; }
    sleep 0.5
done
in_root runuser -u cairn -- cairn-node status -c /etc/cairn/node.toml | grep -q "leader node" || fail "no leader"
kill "$NODE"; wait "$NODE" 2>/dev/null || true; NODE=""
[[ -f $ROOT/var/lib/cairn/secrets/master.key ]] || fail "init made no master key"

step "upgrade to a higher version of the same package"
WORK=$(mktemp -d)
dpkg-deb -R "$DEB" "$WORK/pkg"
sed -i 's/^Version: \(.*\)$/Version: \1+check1/' "$WORK/pkg/DEBIAN/control"
dpkg-deb --build --root-owner-group "$WORK/pkg" "$ROOT/tmp/cairn-next.deb" >/dev/null
rm -rf "$WORK"
in_root dpkg -i /tmp/cairn-next.deb
in_root dpkg-query -W -f '${Version}\n' cairn | grep -q "+check1" || fail "not upgraded"
grep -q '^listen = "127.0.0.1:17100"' "$ROOT/etc/cairn/node.toml" || fail "the upgrade replaced the edited config"

step "remove: binaries go, config, data and secrets stay"
in_root dpkg -r cairn
[[ ! -e $ROOT/usr/bin/cairn-node && ! -e $ROOT/usr/bin/cairn ]] || fail "binaries left after remove"
[[ -f $ROOT/etc/cairn/node.toml ]] || fail "config gone on remove"
[[ -f $ROOT/var/lib/cairn/secrets/master.key && -d $ROOT/var/lib/cairn/data ]] || fail "data gone on remove"

step "purge: the config goes, data and secrets still stay"
in_root dpkg --purge cairn
[[ ! -e $ROOT/etc/cairn/node.toml ]] || fail "config left after purge"
[[ -f $ROOT/var/lib/cairn/secrets/master.key ]] || fail "secrets gone on purge"
echo "== the package installs, runs, upgrades, removes and purges cleanly"
