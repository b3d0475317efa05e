#!/usr/bin/env bash
# `make fuzz-api`: schemathesis (from PyPI, in a venv under target/) against a fresh three-node
# cluster, from the node's own /v1/openapi.json, as an administrator with an API token. It
# fails on any 5xx answer, any answer whose status the description does not list, and any body
# that breaks its schema. FUZZ_API_EXAMPLES bounds the cases per operation (default 40), so a
# run ends in minutes; FUZZ_API_SEED replays one.
set -euo pipefail

cd "$(dirname "$0")/.."
BIN=${CAIRN_NODE:-target/debug/cairn-node}
VENV=target/schemathesis-venv
EXAMPLES=${FUZZ_API_EXAMPLES:-40}

if [[ ! -x $VENV/bin/schemathesis ]]; then
    echo "== installing schemathesis into $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet schemathesis
fi
[[ -x $BIN ]] || { echo "$BIN is missing: cargo build -p cairn-node --bin cairn-node" >&2; exit 1; }

DIR=$(mktemp -d "${TMPDIR:-/tmp}/cairn-fuzz-api.XXXXXX")
PIDS=()
stop() {
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
    done
    rm -rf "$DIR"
}
trap stop EXIT

# Three nodes, so blocks have somewhere to go (the default profile is 2+1). Free ports: the
# kernel picks them, TCP for the API and UDP for QUIC.
NODES=(1 2 3)
declare -A API QUIC
for i in "${NODES[@]}"; do
    read -r API[$i] QUIC[$i] < <(python3 -c '
import socket
t = socket.socket(); t.bind(("127.0.0.1", 0))
u = socket.socket(type=socket.SOCK_DGRAM); u.bind(("127.0.0.1", 0))
print(t.getsockname()[1], u.getsockname()[1])')
    cat >"$DIR/node$i.toml" <<TOML
id = $i
data_dir = "node$i"
secrets_dir = "secrets"
zone = "zone-$i"
log = "info"
[network]
listen = "127.0.0.1:${QUIC[$i]}"
api = "127.0.0.1:${API[$i]}"
api_tls = false
[storage]
reserve_disk_bytes = 0
TOML
done

run() { "$BIN" "$@" >>"$DIR/setup.log" 2>&1 || { cat "$DIR/setup.log"; exit 1; }; }
run init -c "$DIR/node1.toml"
for i in "${NODES[@]:1}"; do run issue-cert -c "$DIR/node1.toml" --id "$i" --api "127.0.0.1:${API[$i]}"; done
for i in "${NODES[@]}"; do
    "$BIN" start -c "$DIR/node$i.toml" >"$DIR/node$i.log" 2>&1 &
    PIDS+=($!)
done
leader() {
    for _ in $(seq 120); do
        if "$BIN" status -c "$DIR/node1.toml" 2>/dev/null | grep -q "leader node"; then return; fi
        sleep 0.5
    done
    echo "no leader; node 1 says:"; tail -20 "$DIR/node1.log"; exit 1
}
leader
for i in "${NODES[@]:1}"; do
    run member add -c "$DIR/node1.toml" --id "$i" --addr "127.0.0.1:${QUIC[$i]}" --api "127.0.0.1:${API[$i]}" --voter
done
leader
TOKEN=$("$BIN" user add -c "$DIR/node1.toml" fuzz --admin --label "fuzz-api" | sed -n 's/^token: //p')
[[ -n $TOKEN ]] || { echo "no token for the fuzz user" >&2; exit 1; }
# Its id, for the hooks that keep cases from revoking it.
FUZZ_API_TOKEN_ID=$(curl -sf -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:${API[1]}/v1/tokens" |
    python3 -c 'import json, sys; print(next(t["id"] for t in json.load(sys.stdin) if t["current"]))')
export FUZZ_API_TOKEN_ID FUZZ_API_USER=fuzz

API=${API[1]}
URL="http://127.0.0.1:$API"
echo "== 3 nodes, fuzzing node 1 at $URL; $EXAMPLES cases per operation"
status=0
export SCHEMATHESIS_HOOKS=$PWD/scripts/fuzz-api-hooks.py
# Schemathesis keeps its caches in the folder it runs in: target/fuzz-api, not the repository.
ST=$PWD/$VENV/bin/schemathesis
mkdir -p target/fuzz-api
cd target/fuzz-api
# Signing out revokes the token every other case runs with, so it runs alone, last.
"$ST" run "$URL/v1/openapi.json" --url "$URL" \
    -H "Authorization: Bearer $TOKEN" \
    --checks not_a_server_error,status_code_conformance,response_schema_conformance,content_type_conformance \
    --max-examples "$EXAMPLES" --exclude-operation-id signOut \
    --workers 2 --request-timeout 30 ${FUZZ_API_SEED:+--seed "$FUZZ_API_SEED"} \
    --report junit --report-dir . --generation-database examples "$@" || status=$?
"$ST" run "$URL/v1/openapi.json" --url "$URL" \
    -H "Authorization: Bearer $TOKEN" \
    --checks not_a_server_error,status_code_conformance,response_schema_conformance,content_type_conformance \
    --max-examples 5 --include-operation-id signOut --phases examples,coverage,fuzzing --generation-database none --no-color || status=$?
for i in "${NODES[@]}"; do
    if grep -q "panicked" "$DIR/node$i.log"; then
        echo "== node $i panicked:"; grep -A5 "panicked" "$DIR/node$i.log"; status=1
    fi
done
exit "$status"
