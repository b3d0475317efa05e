#!/usr/bin/env bash
# etcd's side of the metadata commit-rate comparison: starts a local 3-member etcd cluster with
# default settings (fsync on, like cairn's benchmark), runs bench/etcd-compare against it with
# the same load as `cargo bench -p cairn-node --bench commit_rate`, and always tears it down.
#
#   scripts/etcd-compare.sh [SECONDS]     (seconds per writer level, default 10)
#
# Client ports are ETCD_BASE_PORT, +2, +4 and peer ports +1, +3, +5 (default 32379..32384: below
# Linux's ephemeral range, so outgoing connections cannot be holding them). Data and logs live in
# a temporary directory that is removed at exit.
set -euo pipefail

cd "$(dirname "$0")/.."
PER_LEVEL=${1:-10}
BASE_PORT=${ETCD_BASE_PORT:-32379}
MANIFEST=bench/etcd-compare/Cargo.toml
# Its own target dir, so this build never waits on (or invalidates) the workspace's cargo lock.
export CARGO_TARGET_DIR=bench/etcd-compare/target
SUDO=; [[ $(id -u) = 0 ]] || SUDO=sudo

# etcd 3.4 from Debian; protoc because etcd-client generates its gRPC code at build time.
missing=""
command -v etcd >/dev/null 2>&1 || missing="$missing etcd-server"
command -v protoc >/dev/null 2>&1 || missing="$missing protobuf-compiler"
if [[ -n $missing ]]; then
    echo "== installing:$missing"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing
fi

# Build before the cluster starts, so compiling does not compete with etcd for the two cores.
echo "== building the generator"
build_start=$SECONDS
cargo build --release --manifest-path "$MANIFEST"
echo "== built in $((SECONDS - build_start)) s"

tmp=$(mktemp -d -t etcd-compare.XXXXXX)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

names=(m0 m1 m2)
client_ports=() peer_ports=() endpoints=() cluster=""
for i in 0 1 2; do
    client_ports+=($((BASE_PORT + 2 * i)))
    peer_ports+=($((BASE_PORT + 2 * i + 1)))
    endpoints+=("127.0.0.1:${client_ports[i]}")
    cluster+="${cluster:+,}${names[i]}=http://127.0.0.1:${peer_ports[i]}"
done
for port in "${client_ports[@]}" "${peer_ports[@]}"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        echo "port $port is in use; set ETCD_BASE_PORT to a free range" >&2
        exit 1
    fi
done

echo "== $(etcd --version | head -1), 3 members, data in $tmp"
for i in 0 1 2; do
    etcd --name "${names[i]}" --data-dir "$tmp/${names[i]}" \
        --listen-client-urls "http://${endpoints[i]}" --advertise-client-urls "http://${endpoints[i]}" \
        --listen-peer-urls "http://127.0.0.1:${peer_ports[i]}" \
        --initial-advertise-peer-urls "http://127.0.0.1:${peer_ports[i]}" \
        --initial-cluster "$cluster" --initial-cluster-token "etcd-compare-$$" \
        --initial-cluster-state new >"$tmp/${names[i]}.log" 2>&1 &
    pids+=($!)
done

# Healthy = every member answers /health with a leader elected; poll for up to 30 s.
healthy() {
    for endpoint in "${endpoints[@]}"; do
        curl -fsS --max-time 1 "http://$endpoint/health" 2>/dev/null | grep -q '"health":"true"' || return 1
    done
}
for _ in $(seq 150); do
    healthy && break
    for i in 0 1 2; do
        if ! kill -0 "${pids[i]}" 2>/dev/null; then
            echo "etcd member ${names[i]} exited:" >&2
            tail -20 "$tmp/${names[i]}.log" >&2
            exit 1
        fi
    done
    sleep 0.2
done
if ! healthy; then
    echo "etcd cluster not healthy after 30 s" >&2
    tail -5 "$tmp"/*.log >&2
    exit 1
fi
echo "== cluster healthy; load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)"

cargo run --release --manifest-path "$MANIFEST" -- "$PER_LEVEL" "${endpoints[@]}"
