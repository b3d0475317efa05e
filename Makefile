# cairn — the commands CI and the README use. `make help` lists them.

CARGO ?= cargo
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: help deps build run stop test layers chaos fuzz bench bench-many-files bench-etcd verify fmt fmt-check clippy clean

help:
	@echo "make run      start a local 3-node cluster in the background (run/local-3/) and show it"
	@echo "make stop     stop the local cluster (its data stays in run/local-3/)"
	@echo "make test     build everything and run the whole test suite (installs system deps first)"
	@echo "make chaos    long chaos runs on 3 and 5 nodes with every nemesis (CHAOS_SECONDS, default 1800; CHAOS_SEED; CHAOS_NEMESES)"
	@echo "make fuzz     each cargo-fuzz target for FUZZ_SECONDS (default 600; needs nightly and cargo-fuzz); make test replays the corpora"
	@echo "make bench    criterion benchmarks of every pipeline stage, the cluster's commit rate, block and drive throughput (see BENCHMARKS.md)"
	@echo "make bench-many-files  MANY_FILES (default 10000000) file entries loaded into a local 3-node cluster, then stat, list, snapshot and catch-up measured (most of an hour)"
	@echo "make bench-etcd  the same commit-rate load against a local 3-member etcd cluster (BENCH_SECONDS per level, default 10)"
	@echo "make layers   only the layering check: crates depend downward, no source file imports itself in a circle"
	@echo "make verify   formatting check, clippy -D warnings, then the tests"
	@echo "make fuzz-api schemathesis (from PyPI, into target/) against a local node from its /v1/openapi.json (FUZZ_API_EXAMPLES per operation, default 40)"
	@echo "make deps     install what the build needs from Debian, only what is missing"

# RocksDB's bindings are generated with libclang, and RocksDB itself is C++. Only libclang
# itself counts: libclang-cpp, which other packages bring, is not what bindgen loads.
deps:
	@missing=""; \
	ls /usr/lib/llvm-*/lib/libclang.so /usr/lib/*/libclang-[0-9]*.so* >/dev/null 2>&1 || missing="$$missing libclang-dev"; \
	command -v g++ >/dev/null 2>&1 || missing="$$missing g++"; \
	command -v make >/dev/null 2>&1 || missing="$$missing make"; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

build: deps
	$(CARGO) build --workspace --all-targets --all-features

run: deps
	$(CARGO) build -p cairn-node --bin cairn-node -p cairn-cli --bin cairn
	scripts/local-cluster.sh up

stop:
	scripts/local-cluster.sh down

test: deps
	$(CARGO) test --workspace --all-features

# The layering check alone (it also runs in `make test`): quick, and needs no system packages.
layers:
	$(CARGO) test -p cairn-layering

# Long chaos runs, outside CI: a 3-node and a 5-node cluster under every nemesis. Reports go to
# chaos-results/; the same CHAOS_SEED replays the same fault schedule.
CHAOS_SECONDS ?= 1800
export CHAOS_SECONDS CHAOS_SEED CHAOS_NEMESES
chaos: deps
	$(CARGO) build --release -p cairn-node --bin cairn-node -p cairn-chaos --bin cairn-chaos
	target/release/cairn-chaos --nodes 3; three=$$?; \
	target/release/cairn-chaos --nodes 5; five=$$?; \
	[ $$three = 0 ] && [ $$five = 0 ]

# Each fuzz target for FUZZ_SECONDS, outside CI: a nightly toolchain and cargo-fuzz
# (`cargo install cargo-fuzz`). The committed seeds in fuzz/corpus/<target>/ are read, new inputs
# go to fuzz/target/corpus/<target>/ (not committed: copy an input worth keeping into the seeds),
# and a crash stops the run with its input in fuzz/artifacts/<target>/. `make test` replays the
# committed corpora through the same checks, on the stable compiler. The first build compiles
# RocksDB (the config target links the node) with the sanitizer, which takes long on two cores;
# ROCKSDB_LIB_DIR=<a folder holding a built librocksdb.a> ROCKSDB_STATIC=1
# RUSTFLAGS=-Clink-arg=-lstdc++ links an already built one instead.
FUZZ_SECONDS ?= 600
FUZZ_TARGETS := frame encoded_block tus_headers range drive_path node_config
fuzz: deps
	@command -v cargo-fuzz >/dev/null || { echo "cargo-fuzz is missing: cargo install cargo-fuzz"; exit 1; }
	for t in $(FUZZ_TARGETS); do \
		mkdir -p fuzz/target/corpus/$$t && \
		$(CARGO) +nightly fuzz run $$t $(CURDIR)/fuzz/target/corpus/$$t $(CURDIR)/fuzz/corpus/$$t \
			-- -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 || exit 1; \
	done

bench: deps
	$(CARGO) bench --workspace --all-features --bench proto_stages --bench node_stages
	$(CARGO) run --release --all-features -p cairn-node --example shard_store_amplification -- 2
	$(CARGO) bench -p cairn-node --bench commit_rate -- 10
	$(CARGO) bench -p cairn-node --bench block_throughput -- 32
	$(CARGO) build --release -p cairn-cli --bin cairn
	$(CARGO) bench -p cairn-node --bench drive_throughput -- 10000
	$(CARGO) bench -p cairn-node --bench sync_latency -- 100
	$(CARGO) bench -p cairn-node --bench fast_paths

# Ten million files (issue 20): long, so not part of `make bench`; BENCHMARKS.md has a run.
MANY_FILES ?= 10000000
bench-many-files: deps
	$(CARGO) bench -p cairn-node --bench many_files -- --files $(MANY_FILES)

# etcd's side of the commit-rate comparison; a standalone crate, outside the workspace.
BENCH_SECONDS ?= 10
bench-etcd:
	scripts/etcd-compare.sh $(BENCH_SECONDS)

# The API fuzzed from its own description, outside CI: a three-node cluster on free ports, an
# administrator's token, and schemathesis checking for 5xx answers and answers off the schema.
.PHONY: fuzz-api
fuzz-api: deps
	$(CARGO) build -p cairn-node --bin cairn-node
	scripts/fuzz-api.sh

# The Debian package `cairn` (cairn-node, cairn, the systemd unit, a commented config; see
# packaging/ and [package.metadata.deb] in node/daemon/Cargo.toml), into target/debian/.
.PHONY: deb package-check
deb: deps
	@command -v cargo-deb >/dev/null || $(CARGO) install cargo-deb --locked
	$(CARGO) build --release -p cairn-node --bin cairn-node -p cairn-cli --bin cairn
	$(CARGO) deb -p cairn-node --no-build --strip

# Outside CI (a release build and a Debian root from the network): installs, upgrades, removes
# and purges the package in a throw-away Debian root made by debootstrap, verifies the unit
# there with systemd-analyze, and checks what stays. Root only.
package-check: deb
	scripts/package-check.sh

fmt:
	$(CARGO) fmt --all

fmt-check:
	$(CARGO) fmt --all -- --check

clippy: deps
	$(CARGO) clippy --workspace --all-targets --all-features -- -D warnings

verify: fmt-check clippy test

clean:
	$(CARGO) clean
