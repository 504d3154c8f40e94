#!/usr/bin/env bash
# Ensures the services the test suite talks to are running on loopback, and
# starts them if they are not. Fails loudly rather than letting tests skip.
set -euo pipefail

pg_up() { (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; }

if ! pg_up; then
  echo "PostgreSQL is not answering on 127.0.0.1:5432; starting it…"
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  fi
  for _ in $(seq 1 50); do pg_up && break; sleep 0.2; done
fi
if ! pg_up; then
  echo "error: PostgreSQL is required by the test suite (127.0.0.1:5432, database 'test', trust auth) and could not be started." >&2
  echo "       Install/start it, or point KEFU_TEST_POSTGRES_URL at a server you own." >&2
  exit 1
fi
echo "services: PostgreSQL up on 127.0.0.1:5432"
