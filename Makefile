# kefu — the two commands a newcomer needs are `make run` and `make test`.
SHELL := /bin/bash
CARGO ?= cargo
KEFU_CONFIG ?= $(wildcard kefu.toml)

.PHONY: run build test services openapi-check bench lint fmt clean

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

## Benchmarks arrive with the load-generator issue; nothing to run yet.
bench:
	@echo "No benchmarks yet: the load generator (kefu-bench) is a later issue. See docs/benchmarks.md when it lands."

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

fmt:
	$(CARGO) fmt --all

clean:
	$(CARGO) clean
