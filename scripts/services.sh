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

# The event bus tests (tests/bus.rs) use the machine's NATS JetStream and
# RabbitMQ, started with the machine's own commands when they are down.
port_up() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
ensure() { # name port timeout-seconds command...
  local name=$1 port=$2 wait=$3; shift 3
  if ! port_up "$port"; then
    echo "$name is not answering on 127.0.0.1:$port; starting it: $*"
    "$@" || true
    for _ in $(seq 1 $((wait * 5))); do port_up "$port" && break; sleep 0.2; done
  fi
  if ! port_up "$port"; then
    echo "error: $name is required by the test suite (127.0.0.1:$port) and could not be started with: $*" >&2
    exit 1
  fi
  echo "services: $name up on 127.0.0.1:$port"
}
ensure "NATS (JetStream)" 4222 15 start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- \
  -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log
ensure RabbitMQ 5672 90 rabbitmq-server -detached
# The GOFLY import tests (tests/import_gofly.rs) use the machine's MariaDB.
ensure MariaDB 3306 30 start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
