#!/usr/bin/env bash
# The browser tests drive Debian's Chromium (/usr/bin/chromium) with
# playwright-core. Installs it from Debian's packages when it is missing;
# never downloads a browser from anywhere else.
set -euo pipefail
CHROMIUM=${E2E_CHROMIUM:-/usr/bin/chromium}
if [ -x "$CHROMIUM" ]; then
  exit 0
fi
echo "Chromium is not installed; installing Debian's chromium package (apt-get)…"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO="sudo -n"
  else
    echo "error: the browser tests need Chromium at $CHROMIUM. Install it as root:" >&2
    echo "         apt-get install -y chromium" >&2
    echo "       (or set E2E_CHROMIUM to another Chromium/Chrome binary)." >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
# fonts-wqy-zenhei: Chinese text in screenshots instead of empty boxes.
PKGS="chromium fonts-wqy-zenhei"
if ! { $SUDO apt-get install -y $PKGS >/dev/null 2>&1 ||
       { $SUDO apt-get update -qq && $SUDO apt-get install -y $PKGS; }; }; then
  echo "error: 'apt-get install chromium' failed; the browser tests cannot run without Chromium at $CHROMIUM." >&2
  exit 1
fi
if [ ! -x "$CHROMIUM" ]; then
  echo "error: chromium was installed but $CHROMIUM does not exist." >&2
  exit 1
fi
echo "installed: $("$CHROMIUM" --version 2>/dev/null || echo chromium)"
