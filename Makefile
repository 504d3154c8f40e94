# kefu — the two commands a newcomer needs are `make run` and `make test`.
SHELL := /bin/bash
CARGO ?= cargo
KEFU_CONFIG ?= $(wildcard kefu.toml)

.PHONY: run build test services openapi-check bench bench-full lint fmt clean

## Build the release binary and serve on the embedded SQLite default (./data).
run: build
	@echo "Starting kefu (data in ./data; Ctrl-C stops it)…"
	./target/release/kefu $(if $(KEFU_CONFIG),--config $(KEFU_CONFIG)) serve

build:
	$(CARGO) build --release --locked -p kefu-server --bin kefu

## The whole test suite: unit, property, store suite on SQLite + PostgreSQL,
## integration tests over real sockets, the SIGKILL crash test, OpenAPI validation.
test: services
	$(CARGO) test --workspace --locked
	./scripts/check-openapi.sh

## Make sure the local services the tests use are up (starts them if not).
services:
	./scripts/services.sh

openapi-check:
	./scripts/check-openapi.sh

## Short versions of every load scenario (a few minutes); full ones: make bench-full.
## Results: target/bench/<scenario>/{result.json,summary.md,*.svg}, overview in target/bench/summary.md.
bench: build
	$(CARGO) build --release --locked -p kefu-bench
	./target/release/kefu-bench --out target/bench bench/quick/*.toml
	$(CARGO) bench --locked -p kefu-server --bench hot_paths -- --quick

bench-full: build
	$(CARGO) build --release --locked -p kefu-bench
	./target/release/kefu-bench --out target/bench-full bench/scenarios/*.toml

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

fmt:
	$(CARGO) fmt --all

clean:
	$(CARGO) clean
