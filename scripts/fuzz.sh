#!/usr/bin/env bash
# Short fuzz runs of the parsers (part of `make test`): the rule DSL and the
# realtime frame parser, FUZZ_SECS seconds each (default 10). A crash fails
# the run and leaves the input in fuzz/artifacts/. Long runs: docs/rules.md.
set -euo pipefail
cd "$(dirname "$0")/.."
SECS="${FUZZ_SECS:-10}"
if ! rustup toolchain list | grep -q '^nightly'; then
  echo "installing the nightly toolchain for cargo fuzz…"
  rustup toolchain install nightly --profile minimal >/dev/null
fi
if ! command -v cargo-fuzz >/dev/null; then
  echo "installing cargo-fuzz…"
  cargo install cargo-fuzz --locked >/dev/null
fi
for target in rules client_frame; do
  # The working corpus grows in fuzz/corpus (not committed), seeded from fuzz/seeds.
  mkdir -p "fuzz/corpus/$target"
  if [ -d "fuzz/seeds/$target" ]; then cp -n fuzz/seeds/"$target"/* "fuzz/corpus/$target/" 2>/dev/null || true; fi
  echo "fuzzing $target for ${SECS}s…"
  cargo +nightly fuzz run "$target" "fuzz/corpus/$target" -- -max_total_time="$SECS" -max_len=4096 2>&1 | tail -n 3
done
