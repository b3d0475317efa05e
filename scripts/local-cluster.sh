#!/usr/bin/env bash
# Starts (`up`) or stops (`down`) the local 3-node loopback cluster of cluster-configs/local-3.
# Everything it makes (secrets, data, logs, pid files) lives under run/local-3/.
set -euo pipefail

cd "$(dirname "$0")/.."
BIN=${CAIRN_NODE:-target/debug/cairn-node}
CFG=cluster-configs/local-3
RUN=run/local-3
NODES=(1 2 3)

alive() { [[ -f $RUN/node$1.pid ]] && kill -0 "$(cat "$RUN/node$1.pid")" 2>/dev/null; }

up() {
    mkdir -p "$RUN/logs"
    local fresh=0
    if [[ ! -f $RUN/secrets/ca.crt ]]; then
        echo "== initialising a new cluster in $RUN"
        "$BIN" init -c "$CFG/node1.toml"
        # Each node's certificate, and the one its HTTPS API serves (for its network.api).
        for i in "${NODES[@]:1}"; do
            "$BIN" issue-cert -c "$CFG/node1.toml" --id "$i" --api "127.0.0.1:810$i"
        done
        fresh=1
    fi
    for i in "${NODES[@]}"; do
        if alive "$i"; then
            echo "== node $i is already running (pid $(cat "$RUN/node$i.pid"))"
            continue
        fi
        nohup "$BIN" start -c "$CFG/node$i.toml" >>"$RUN/logs/node$i.log" 2>&1 &
        echo $! >"$RUN/node$i.pid"
        echo "== started node $i (pid $!, log $RUN/logs/node$i.log)"
    done
    if [[ $fresh == 1 ]]; then
        for i in "${NODES[@]:1}"; do
            "$BIN" member add -c "$CFG/node1.toml" --id "$i" \
                --addr "127.0.0.1:710$i" --api "127.0.0.1:810$i" --voter
        done
    fi
    # Wait (up to a minute) until a leader is known, then show the cluster.
    for _ in $(seq 60); do
        if "$BIN" status -c "$CFG/node1.toml" 2>/dev/null | grep -q "leader node"; then break; fi
        sleep 1
    done
    "$BIN" status -c "$CFG/node1.toml"
    # A demo user (an administrator) with a token, made once and kept beside the secrets.
    if [[ ! -f $RUN/demo.token ]]; then
        local token
        token=$("$BIN" user add -c "$CFG/node1.toml" demo --admin --label "make run" | sed -n 's/^token: //p')
        (umask 077 && echo "$token" >"$RUN/demo.token")
        echo "== created user demo (administrator); its token is in $RUN/demo.token"
    fi
    local token
    token=$(cat "$RUN/demo.token")
    # A `cairn` profile for the demo user, kept in the run folder rather than the user's own
    # config folder, so trying the cluster changes nothing outside it.
    local cairn=target/debug/cairn
    if [[ -x $cairn ]]; then
        printf '%s\n' "$token" | CAIRN_CONFIG=$RUN/cairn.toml "$cairn" login --node https://127.0.0.1:8101 \
            --node https://127.0.0.1:8102 --node https://127.0.0.1:8103 --ca "$RUN/secrets/ca.crt" --token-stdin >/dev/null
    fi
    cat <<MSG

The cluster is up, with a user "demo" whose API token is
  $token
Try the drive's HTTPS API on any node (8101, 8102, 8103); clients trust the cluster CA,
$RUN/secrets/ca.crt:
  curl -s --cacert $RUN/secrets/ca.crt -H "Authorization: Bearer $token" https://127.0.0.1:8101/v1/me
  curl -s --cacert $RUN/secrets/ca.crt -T README.md -H "Authorization: Bearer $token" https://127.0.0.1:8102/v1/content/docs/README.md
  curl -s --cacert $RUN/secrets/ca.crt -H "Authorization: Bearer $token" https://127.0.0.1:8103/v1/tree/docs
  curl -s --cacert $RUN/secrets/ca.crt -H "Authorization: Bearer $token" https://localhost:8101/v1/content/docs/README.md
  curl -s --cacert $RUN/secrets/ca.crt https://127.0.0.1:8101/metrics | grep cairn_
The command line, logged in as demo on all three nodes (it fails over between them):
  export CAIRN_CONFIG=$RUN/cairn.toml; alias cairn=$cairn
  cairn put README.md docs/                # upload, with a progress bar on big files
  cairn ls -l docs
  cairn get docs/README.md /tmp/README.copy
  cairn put README.md docs/ && cairn history docs/README.md
  cairn link docs/README.md                # a public read-only link
  cairn rm docs/README.md && cairn trash ls && cairn trash restore docs/README.md
  cairn status --json                      # which nodes answer; --json on every command
And the cluster:
  $BIN status -c $CFG/node2.toml            # members, leader, term, applied index, health
  kill -9 \$(cat $RUN/node1.pid); sleep 3; $BIN status -c $CFG/node2.toml   # watch a failover
  make run                                                 # start whatever is down again
  tail -f $RUN/logs/node*.log                              # what the nodes say
  make stop                                                # stop all three (data is kept)
  rm -rf run/local-3                                       # forget the cluster entirely
MSG
}

down() {
    for i in "${NODES[@]}"; do
        if alive "$i"; then
            kill -TERM "$(cat "$RUN/node$i.pid")"
            echo "== stopping node $i"
        fi
    done
    for i in "${NODES[@]}"; do
        for _ in $(seq 100); do alive "$i" || break; sleep 0.1; done
        if alive "$i"; then kill -KILL "$(cat "$RUN/node$i.pid")"; fi
        rm -f "$RUN/node$i.pid"
    done
    echo "== stopped; data and logs stay in $RUN"
}

case "${1:-up}" in
    up) up ;;
    down) down ;;
    *) echo "usage: $0 [up|down]" >&2; exit 2 ;;
esac
