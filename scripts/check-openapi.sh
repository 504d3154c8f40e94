#!/usr/bin/env bash
# Validates the OpenAPI document kefu generates from its code with a real
# validator (openapi-spec-validator from PyPI, installed into .venv once).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv
if [ ! -x "$VENV/bin/openapi-spec-validator" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "openapi-spec-validator==0.9.0"
fi
out=$(mktemp --suffix=.json)
trap 'rm -f "$out"' EXIT
cargo run --quiet --locked -p kefu-server --bin kefu -- openapi > "$out"
"$VENV/bin/openapi-spec-validator" "$out"
