#!/usr/bin/env bash
# Makes the Python virtualenv the tests use: target/py-venv with the PyPI
# packages `standardwebhooks` (an implementation of the Standard Webhooks
# spec that is not ours; webhook tests), `aiosmtpd` (a real SMTP server
# the mail tests start), and `http-ece` with `cryptography` (Web Push
# decryption and VAPID checks that are not ours: scripts/webpush_endpoint.py,
# the push tests). Idempotent; fails loudly.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VENV="${KEFU_PY_VENV:-$ROOT/target/py-venv}"
if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c 'import standardwebhooks, aiosmtpd, http_ece, cryptography' 2>/dev/null; then
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
"$VENV/bin/pip" install --quiet --disable-pip-version-check 'standardwebhooks==1.*' 'aiosmtpd==1.*' 'http-ece==1.*' 'cryptography>=42' || {
  echo "error: pip could not install standardwebhooks, aiosmtpd, http-ece and cryptography into $VENV" >&2
  exit 1
}
"$VENV/bin/python" -c 'import standardwebhooks, aiosmtpd, http_ece, cryptography' && echo "py-venv: standardwebhooks, aiosmtpd, http-ece and cryptography ready in $VENV"
