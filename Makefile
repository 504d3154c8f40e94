# kefu — the two commands a newcomer needs are `make run` and `make test`.
SHELL := /bin/bash
CARGO ?= cargo
KEFU_CONFIG ?= $(wildcard kefu.toml)
# Where cargo puts binaries: honours a shared CARGO_TARGET_DIR (CI caches).
TARGET_DIR := $(abspath $(or $(CARGO_TARGET_DIR),target))

.PHONY: run build test web web-test e2e docs-img services openapi-check bench bench-full bench-check bench-integrations soak soak-full lint fmt clean

# The web front ends (web/): npm ci when the lockfile changes, vite build when a
# source changes. kefu embeds web/dist (release) or reads it (debug builds).
WEB_SRC := $(shell find web -path web/node_modules -prune -o -path web/dist -prune -o -path web/e2e -prune \
	-o -type f \( -name '*.ts' -o -name '*.vue' -o -name '*.css' -o -name '*.html' -o -name '*.mjs' -o -name 'package*.json' \) \
	-not -name '*.test.ts' -print)

## Build the release binary and serve on the embedded SQLite default (./data).
run: build
	@echo "Starting kefu (data in ./data; Ctrl-C stops it)…"
	$(TARGET_DIR)/release/kefu $(if $(KEFU_CONFIG),--config $(KEFU_CONFIG)) serve

build: web
	$(CARGO) build --release --locked -p kefu-server --bin kefu

web/node_modules/.package-lock.json: web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund

web/.build-stamp: web/node_modules/.package-lock.json $(WEB_SRC)
	cd web && npm run build
	touch $@

## Build the widget and the console into web/dist.
web: web/.build-stamp

## Front-end checks without a browser: type checks and Vitest unit tests.
web-test: web/node_modules/.package-lock.json
	cd web && npm run typecheck
	cd web && npm test

## Browser end-to-end tests: Debian Chromium (installed if missing) driving the
## widget against a real kefu (debug build) on a temp data dir and a free port.
e2e: web
	./scripts/install-chromium.sh
	./scripts/py-venv.sh
	$(CARGO) build --locked -p kefu-server --bin kefu
	cd web && E2E_KEFU_BIN=$(TARGET_DIR)/debug/kefu npm run e2e

## The whole test suite: unit, property, store suite on SQLite + PostgreSQL,
## integration tests over real sockets (webhook signatures verified by the PyPI
## package standardwebhooks in target/py-venv), the SIGKILL crash tests, OpenAPI validation,
## short fuzz runs of the rule DSL and frame parsers (cargo fuzz, nightly),
## the quick hostile-client soak (make soak), then the front end: type checks,
## Vitest unit tests, browser end-to-end tests.
test: services web
	./scripts/py-venv.sh
	$(CARGO) test --workspace --locked
	$(MAKE) soak
	./scripts/check-openapi.sh
	./scripts/fuzz.sh
	$(MAKE) web-test
	$(MAKE) e2e

## Refresh the screenshots the README shows (docs/img/) from the browser tests.
docs-img: web
	./scripts/install-chromium.sh
	$(CARGO) build --locked -p kefu-server --bin kefu
	cd web && E2E_KEFU_BIN=$(TARGET_DIR)/debug/kefu E2E_UPDATE_DOCS=1 npx vitest run -c vitest.e2e.config.ts e2e/widget.e2e.ts e2e/console.e2e.ts e2e/routing.e2e.ts e2e/phone.e2e.ts e2e/team.e2e.ts e2e/contacts.e2e.ts

## Make sure the local services the tests use are up (starts them if not).
services:
	./scripts/services.sh

openapi-check:
	./scripts/check-openapi.sh

## Short versions of every load scenario (a few minutes); full ones: make bench-full.
## Results: target/bench/<scenario>/{result.json,summary.md,*.svg}, overview in target/bench/summary.md.
## Then full-text search over 100,000 generated messages (1,000,000: docs/benchmarks.md);
## last: the bot's in-process embedding model (load time, memory, latency per message).
bench: build
	$(CARGO) build --release --locked -p kefu-bench
	$(TARGET_DIR)/release/kefu-bench --kefu $(TARGET_DIR)/release/kefu --out target/bench bench/quick/*.toml
	$(CARGO) bench --locked -p kefu-server --bench hot_paths -- --quick
	$(CARGO) bench --locked -p kefu-routing --bench decide -- --quick
	$(CARGO) bench --locked -p kefu-bot --bench bot -- --quick
	$(TARGET_DIR)/release/kefu search bench --messages 100000 --rounds 10
	./scripts/py-venv.sh
	$(TARGET_DIR)/release/kefu bot bench-model --model-dir target/models/all-MiniLM-L6-v2

bench-full: build
	$(CARGO) build --release --locked -p kefu-bench
	$(TARGET_DIR)/release/kefu-bench --kefu $(TARGET_DIR)/release/kefu --out target/bench-full bench/scenarios/*.toml

## What integrations cost the chat: the same chat load with and without one
## webhook subscription and the NATS bus (a private nats-server), and the
## webhook delivery rate. Results: target/bench-integrations/.
bench-integrations: web
	./scripts/bench-integrations.sh

## Is the load generator honest? kefu-bench and an independent minimal client
## (scripts/crosscheck/ws_latency.py, Python) measure one release server in turn
## at 500 msg/s; fails if their visitor -> agent p99 differ by more than 20 %.
## About a minute after the build. Results: target/bench-check/.
bench-check: build
	$(CARGO) build --release --locked -p kefu-bench
	NO_BUILD=1 ./scripts/bench-crosscheck.sh

## Hostile-client soak, short form (about 40 s): slow headers and bodies, idle
## keep-alives, silent sockets, unauthenticated WebSockets and floods against the
## real binary while visitors chat; fails if normal traffic stopped being served.
## Debug build: `cargo test --workspace` has already built both binaries with the
## same features (a plain `cargo build` would rebuild the dependency tree), so in
## `make test` the first line is a no-op. Results: target/soak/soak-quick/.
soak:
	$(CARGO) test --workspace --locked --no-run
	$(TARGET_DIR)/debug/kefu-bench --kefu $(TARGET_DIR)/debug/kefu --out target/soak bench/soak/quick.toml

## The full soak (about 3.5 minutes, release build). Results: target/soak-full/soak-full/.
soak-full: build
	$(CARGO) build --release --locked -p kefu-bench
	$(TARGET_DIR)/release/kefu-bench --kefu $(TARGET_DIR)/release/kefu --out target/soak-full bench/soak/full.toml

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

fmt:
	$(CARGO) fmt --all

clean:
	$(CARGO) clean
