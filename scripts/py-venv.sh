#!/usr/bin/env bash
# Makes the Python virtualenv the webhook tests verify signatures with:
# target/py-venv with the PyPI package `standardwebhooks` (an implementation
# of the Standard Webhooks spec that is not ours). Idempotent; fails loudly.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VENV="${KEFU_PY_VENV:-$ROOT/target/py-venv}"
if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c 'import standardwebhooks' 2>/dev/null; then
  exit 0
fi
if ! command -v python3 >/dev/null; then
  echo "error: python3 is needed for the webhook signature tests (apt-get install python3 python3-venv)" >&2
  exit 1
fi
python3 -m venv "$VENV" || {
  echo "error: cannot create a virtualenv at $VENV (apt-get install python3-venv)" >&2
  exit 1
}
"$VENV/bin/pip" install --quiet --disable-pip-version-check 'standardwebhooks==1.*' || {
  echo "error: pip could not install standardwebhooks into $VENV" >&2
  exit 1
}
"$VENV/bin/python" -c 'import standardwebhooks' && echo "py-venv: standardwebhooks ready in $VENV"
