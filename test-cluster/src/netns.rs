//! A virtual network of hosts for cluster tests: a Linux bridge in the root network namespace
//! and, per host, a network namespace joined to it by a veth pair, so that each `cairn-node`
//! has an address of its own and a link that can be cut like a pulled cable.
//!
//! The bridge holds the subnet's `.254` address, so the test process (in the root namespace)
//! reaches every host across the bridge: client traffic crosses the same network as the
//! nodes' traffic. Cutting a host downs the bridge side of its veth; the host then loses every
//! peer and every client at once, and nothing in between (no proxy) knows about it.
//!
//! Needs root and `ip` (iproute2). Everything is made with `ip` rather than netlink by hand:
//! no maintained crate we already depend on does it, and the commands are what an operator
//! would type, which makes a failure easy to reproduce. Names carry the test process's id, so
//! two test processes never collide; leftovers of a crashed run are removed by the first
//! [`Network`] of a later process (see `sweep_leftovers`), and the normal path removes
//! everything in `Drop`, also when a test panics.
//!
//! Two things that could keep frames from flowing were checked on kernel 6.18:
//! - A bridge made with `stp_state 0` (the default) puts a port into `forwarding` as soon as it
//!   comes up: no forward delay, so traffic flows right after [`Network::restore`].
//! - With `br_netfilter` loaded and `net.bridge.bridge-nf-call-iptables = 1`, bridged frames
//!   go through iptables' FORWARD chain. With its default ACCEPT policy (this machine has no
//!   rules at all) nothing is dropped; a DROP policy (Docker sets one) would drop node-to-node
//!   frames while client traffic still flows, a half-working cluster. Rather than edit the
//!   machine's firewall, [`Network::new`] refuses to start then and says what to allow.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::net::Ipv4Addr;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, Once, PoisonError};

/// Prefix of every bridge's name; the rest is `<pid in base 36>-<network in base 36>`.
const BRIDGE_PREFIX: &str = "cnb";
/// Prefix of every bridge-side veth's name; the rest is `<pid>-<network>-<host>` in base 36.
const LINK_PREFIX: &str = "cnv";
/// Prefix of every namespace's name; the rest is `<pid>-<network>-<host>` in decimal.
const NAMESPACE_PREFIX: &str = "cairn-";
/// The name of each host's interface, inside its namespace.
const HOST_INTERFACE: &str = "eth0";
/// The last octet of the bridge's own address, the hosts' gateway.
const GATEWAY: u8 = 254;

/// Networks made by this process so far: part of every name, so none repeats.
static NETWORKS: AtomicU32 = AtomicU32::new(0);

/// A bridge and the hosts on it; everything is removed when it is dropped.
#[derive(Debug)]
pub struct Network {
    bridge: String,
    /// The first three octets of the subnet: `a.b.c.0/24`.
    subnet: [u8; 3],
    /// This network's number in this process, part of every name.
    number: u32,
    state: Mutex<State>,
}

/// What has been made so far: what `Drop` must remove.
#[derive(Debug, Default)]
struct State {
    bridge_made: bool,
    hosts: BTreeMap<u8, Host>,
}

/// One host of a [`Network`]: a network namespace with one interface on the bridge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Host {
    index: u8,
    namespace: String,
    ip: Ipv4Addr,
    link: String,
}

impl Host {
    /// Its number on the network: the last octet of its address.
    pub fn index(&self) -> u8 {
        self.index
    }

    /// The name of its network namespace (as `ip netns list` shows it).
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// Its address on the network.
    pub fn ip(&self) -> Ipv4Addr {
        self.ip
    }

    /// The name of the bridge side of its veth pair, in the root namespace: the cable that
    /// [`Network::cut`] pulls.
    pub fn link(&self) -> &str {
        &self.link
    }

    /// A command that runs `program` inside this host's namespace (`ip netns exec`). `ip`
    /// execs the program without forking, so the spawned child's pid is the program's own and
    /// killing the child kills the program.
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let mut command = Command::new(ip_binary());
        command.args(["netns", "exec", &self.namespace]).arg(program);
        command
    }
}

impl Network {
    /// Whether networks can be made here: `ip` is installed and may add a namespace (which
    /// takes root). Tests should not skip when it is false but fail: CI runs them as root.
    pub fn available() -> bool {
        let probe = format!("{NAMESPACE_PREFIX}{}-probe", std::process::id());
        let made = ip(&["netns", "add", &probe]).is_ok();
        if made {
            let _ = ip(&["netns", "del", &probe]);
        }
        made
    }

    /// Makes a bridge on a /24 that nothing on this machine uses, with the `.254` address, up.
    /// Panics saying why if it cannot (not root, no `ip`, a firewall that would drop bridged
    /// frames).
    // No `Default`: making interfaces on the machine is not a default value.
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        assert!(
            Self::available(),
            "the network-namespace test harness needs root and iproute2 (`ip netns add` failed); \
             run the tests as root"
        );
        static SWEEP: Once = Once::new();
        SWEEP.call_once(sweep_leftovers);
        check_forward_filter();
        let pid = std::process::id();
        let number = NETWORKS.fetch_add(1, Ordering::Relaxed);
        let [a, b] = free_subnet(pid, number);
        // Made before the bridge, so that a panic half-way drops it and removes what exists.
        let network = Self {
            bridge: format!("{BRIDGE_PREFIX}{}-{}", base36(pid), base36(number)),
            subnet: [10, a, b],
            number,
            state: Mutex::new(State::default()),
        };
        let bridge = network.bridge.as_str();
        // STP off (the default, said so): ports forward as soon as they are up.
        ip_ok(&["link", "add", "name", bridge, "type", "bridge", "stp_state", "0"]);
        network.lock().bridge_made = true;
        // A bridge whose address was not set takes the smallest of its ports' addresses, so it
        // would change as hosts join and leave, and hosts that cached the old one for the
        // gateway would not reach the test process until their ARP entry expired.
        let [p1, p2, p3, p4] = ((pid << 8) | (number & 0xff)).to_be_bytes();
        let mac = format!("02:ca:{p1:02x}:{p2:02x}:{p3:02x}:{p4:02x}");
        ip_ok(&["link", "set", bridge, "address", &mac]);
        ip_ok(&["addr", "add", &format!("{}/24", network.gateway()), "dev", bridge]);
        ip_ok(&["link", "set", bridge, "up"]);
        network
    }

    /// The bridge's name.
    pub fn bridge(&self) -> &str {
        &self.bridge
    }

    /// The bridge's own address (`.254`): where the test process's traffic to the hosts
    /// comes from.
    pub fn gateway(&self) -> Ipv4Addr {
        self.address(GATEWAY)
    }

    /// Host `index` (1..=253, the last octet of its address), made on first use: a namespace
    /// whose `eth0` is on the bridge with address `a.b.c.<index>/24`, up, with `lo` up and a
    /// default route via the bridge.
    pub fn host(&self, index: u8) -> Host {
        assert!((1..GATEWAY).contains(&index), "host index {index} is not in 1..{GATEWAY}");
        let mut state = self.lock();
        if let Some(host) = state.hosts.get(&index) {
            return host.clone();
        }
        let pid = std::process::id();
        let host = Host {
            index,
            namespace: format!("{NAMESPACE_PREFIX}{pid}-{}-{index}", self.number),
            ip: self.address(index),
            link: format!("{LINK_PREFIX}{}-{}-{}", base36(pid), base36(self.number), base36(index.into())),
        };
        // Recorded first, so that `Drop` removes whatever part of it gets made.
        state.hosts.insert(index, host.clone());
        drop(state);
        let ns = host.namespace.as_str();
        ip_ok(&["netns", "add", ns]);
        // The peer is made inside the namespace under its final name: no stray half in the
        // root namespace if a later step fails.
        ip_ok(&["link", "add", &host.link, "type", "veth", "peer", "name", HOST_INTERFACE, "netns", ns]);
        ip_ok(&["-n", ns, "addr", "add", &format!("{}/24", host.ip), "dev", HOST_INTERFACE]);
        ip_ok(&["-n", ns, "link", "set", HOST_INTERFACE, "up"]);
        ip_ok(&["-n", ns, "link", "set", "lo", "up"]);
        ip_ok(&["-n", ns, "route", "add", "default", "via", &self.gateway().to_string()]);
        ip_ok(&["link", "set", &host.link, "master", &self.bridge]);
        ip_ok(&["link", "set", &host.link, "up"]);
        host
    }

    /// Pulls `host`'s cable: downs the bridge side of its veth, so that it reaches nothing and
    /// nothing reaches it (its own interface loses carrier too).
    pub fn cut(&self, host: &Host) {
        ip_ok(&["link", "set", &host.link, "down"]);
    }

    /// Plugs `host`'s cable back in; the port forwards at once (STP is off).
    pub fn restore(&self, host: &Host) {
        ip_ok(&["link", "set", &host.link, "up"]);
    }

    fn address(&self, last: u8) -> Ipv4Addr {
        let [a, b, c] = self.subnet;
        Ipv4Addr::new(a, b, c, last)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock (a failed `ip` call) must not keep `Drop` from
        // cleaning up.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for Network {
    fn drop(&mut self) {
        let state = self.lock();
        // Errors are ignored: after a partial setup some of these do not exist. Deleting the
        // veth removes both ends even if a process still holds the namespace open, and
        // `netns del` then only unmounts a namespace that dies with its last process.
        for host in state.hosts.values() {
            let _ = ip(&["link", "del", &host.link]);
            let _ = ip(&["netns", "del", &host.namespace]);
        }
        if state.bridge_made {
            let _ = ip(&["link", "del", &self.bridge]);
        }
    }
}

/// Removes namespaces, bridges and veths of earlier test processes that died without
/// dropping their networks (a SIGKILL, a timeout): those named after a process that is gone,
/// or after this very process (an earlier one with the same pid; this one has made none
/// yet). Deleting a namespace also deletes the veth pair whose one end is in it.
fn sweep_leftovers() {
    let own = std::process::id();
    let stale = |pid: u32| pid == own || !Path::new(&format!("/proc/{pid}")).exists();
    let namespaces = ip_output(&["netns", "list"]);
    for name in namespaces.lines().filter_map(|line| line.split_whitespace().next()) {
        let pid = name.strip_prefix(NAMESPACE_PREFIX).and_then(|rest| rest.split('-').next());
        if let Some(pid) = pid.and_then(|pid| pid.parse().ok())
            && stale(pid)
        {
            let _ = ip(&["netns", "del", name]);
        }
    }
    // `ip -o link` lines read `7: cnv1a2b-0-1@if6: <...> ...`.
    let links = ip_output(&["-o", "link", "show"]);
    for line in links.lines() {
        let Some(name) = line.split(": ").nth(1).and_then(|name| name.split('@').next()) else {
            continue;
        };
        let rest = name.strip_prefix(BRIDGE_PREFIX).or_else(|| name.strip_prefix(LINK_PREFIX));
        let pid = rest.and_then(|rest| rest.split_once('-')).map(|(pid, _)| pid);
        if let Some(pid) = pid.and_then(|pid| u32::from_str_radix(pid, 36).ok())
            && stale(pid)
        {
            let _ = ip(&["link", "del", name]);
        }
    }
}

/// Panics if iptables would drop bridged frames (see the module doc): `br_netfilter` hands
/// them to the FORWARD chain, whose policy is DROP, and nothing accepts our bridges.
fn check_forward_filter() {
    let handed_to_iptables = std::fs::read_to_string("/proc/sys/net/bridge/bridge-nf-call-iptables")
        .is_ok_and(|value| value.trim() == "1");
    if !handed_to_iptables {
        return;
    }
    // No iptables command: nothing that would set a policy either.
    let Ok(out) = Command::new("iptables").args(["-S", "FORWARD"]).output() else {
        return;
    };
    let rules = String::from_utf8_lossy(&out.stdout);
    let accepted = format!("-i {BRIDGE_PREFIX}+ -o {BRIDGE_PREFIX}+ -j ACCEPT");
    assert!(
        !rules.contains("-P FORWARD DROP") || rules.contains(&accepted),
        "iptables' FORWARD policy is DROP and net.bridge.bridge-nf-call-iptables = 1, so the \
         test network's bridged frames would be dropped between hosts; allow them with \
         `iptables -I FORWARD {accepted}` (or set net.bridge.bridge-nf-call-iptables = 0)"
    );
}

/// The first two octets after `10.` of a /24 that no address or route on this machine
/// overlaps, starting from one derived from `pid` and `number` so that concurrent test
/// processes start apart.
fn free_subnet(pid: u32, number: u32) -> [u8; 2] {
    let used = used_prefixes();
    let start = (pid % 1024) * 64 + number % 64;
    for step in 0..=u16::MAX.into() {
        let [_, _, a, b] = ((start + step) % 65_536).to_be_bytes();
        let subnet = u32::from(Ipv4Addr::new(10, a, b, 0));
        if !used.iter().any(|&(addr, len)| overlaps((subnet, 24), (addr, len))) {
            return [a, b];
        }
    }
    panic!("every 10.x.y.0/24 overlaps an address or route on this machine");
}

/// Every IPv4 address or prefix in this machine's addresses and routes (all tables): the
/// gateways and broadcast addresses too, which only makes the choice more careful. A /0 (a
/// default route) is left out: it holds every subnet and routes none of them here.
fn used_prefixes() -> Vec<(u32, u8)> {
    let text =
        ip_output(&["-4", "-o", "addr", "show"]) + &ip_output(&["-4", "route", "show", "table", "all"]);
    text.split_whitespace()
        .filter_map(|word| {
            let (addr, len) = word.split_once('/').unwrap_or((word, "32"));
            Some((
                u32::from(addr.parse::<Ipv4Addr>().ok()?),
                len.parse::<u8>().ok().filter(|&l| (1..=32).contains(&l))?,
            ))
        })
        .collect()
}

/// Whether two prefixes share an address: they agree on the bits of the shorter one.
fn overlaps((a, a_len): (u32, u8), (b, b_len): (u32, u8)) -> bool {
    let len = a_len.min(b_len);
    let mask = if len == 0 { 0 } else { u32::MAX << (32 - u32::from(len)) };
    a & mask == b & mask
}

/// `n` in base 36 (lower case): names must fit in an interface name's 15 bytes.
fn base36(mut n: u32) -> String {
    let mut digits = Vec::new();
    loop {
        digits.push(char::from_digit(n % 36, 36).unwrap_or('0'));
        n /= 36;
        if n == 0 {
            break;
        }
    }
    digits.iter().rev().collect()
}

/// iproute2's `ip`: where Debian puts it, in case `/usr/sbin` is not on the test's PATH.
fn ip_binary() -> &'static str {
    if Path::new("/usr/sbin/ip").exists() { "/usr/sbin/ip" } else { "ip" }
}

/// Runs `ip args`; its stderr if it fails.
fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new(ip_binary()).args(args).output().map_err(|e| format!("run ip: {e}"))?;
    if out.status.success() { Ok(()) } else { Err(String::from_utf8_lossy(&out.stderr).trim().to_owned()) }
}

/// Runs `ip args`, panicking with what it said if it fails.
fn ip_ok(args: &[&str]) {
    if let Err(e) = ip(args) {
        panic!("ip {} failed: {e}", args.join(" "));
    }
}

/// The stdout of `ip args` (empty if it cannot run: a sweep or a check then finds nothing).
fn ip_output(args: &[&str]) -> String {
    Command::new(ip_binary())
        .args(args)
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fit_in_an_interface_name() {
        // The largest pid Linux hands out (pid_max is at most 2^22), a process's 1296th
        // network, the last host.
        let pid = base36(1 << 22);
        let link = format!("{LINK_PREFIX}{pid}-{}-{}", base36(36 * 36 - 1), base36(253));
        assert!(link.len() <= 15, "{link}");
        assert_eq!(u32::from_str_radix(&pid, 36).unwrap(), 1 << 22);
    }

    #[test]
    fn prefixes_overlap_when_one_holds_the_other() {
        let net = |a, b, c| u32::from(Ipv4Addr::new(10, a, b, c));
        assert!(overlaps((net(1, 2, 0), 24), (net(1, 2, 7), 32)));
        assert!(overlaps((net(1, 2, 0), 24), (net(0, 0, 0), 8)));
        assert!(!overlaps((net(1, 2, 0), 24), (net(1, 3, 0), 24)));
        assert!(overlaps((net(1, 2, 0), 24), (0, 0)));
    }
}
