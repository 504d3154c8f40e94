#!/usr/bin/env bash
# What do integrations cost the chat? Runs the same chat load (bench/integrations/chat.toml)
# against two fresh release kefu servers, one after the other:
#   1. plain: no webhook subscription, no event bus;
#   2. integrations: one webhook subscription to every event type (a local
#      receiver, scripts/webhook_sink.py) and the NATS JetStream bus on (a
#      private nats-server with JetStream on a free port, started here).
# Prints the chat throughput of each (acknowledged sends per second at the
# saturating step), their ratio (target: at least 80 %), and the webhook
# delivery rate (deliveries the receiver got per second, and how long the
# backlog took to drain after the load stopped). Everything runs on this
# machine: the receiver and nats-server share its cores with kefu.
# Results: $OUT (default target/bench-integrations). `make bench-integrations` runs this.
set -euo pipefail
cd "$(dirname "$0")/.."

SCENARIO=${SCENARIO:-bench/integrations/chat.toml}
CARGO=${CARGO:-cargo}
TARGET_DIR=$(realpath -m "${CARGO_TARGET_DIR:-target}")
OUT=$(realpath -m "${OUT:-target/bench-integrations}")
KEFU=$TARGET_DIR/release/kefu
BENCH=$TARGET_DIR/release/kefu-bench
NATS_SERVER=${NATS_SERVER:-$(command -v nats-server || echo /usr/sbin/nats-server)}

if [ -z "${NO_BUILD:-}" ]; then
  $CARGO build --release --locked -p kefu-server --bin kefu
  $CARGO build --release --locked -p kefu-bench
fi
NAME=$(python3 -c 'import sys, tomllib; print(tomllib.load(open(sys.argv[1], "rb"))["name"])' "$SCENARIO")
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
rm -rf "$OUT"
mkdir -p "$OUT"

SINK_PORT=$(free_port)
python3 scripts/webhook_sink.py "$SINK_PORT" "$OUT/sink-count" &
SINK=$!
NATS_PORT=$(free_port)
NATS_DIR=$(mktemp -d)
"$NATS_SERVER" -a 127.0.0.1 -p "$NATS_PORT" -js -sd "$NATS_DIR" >"$OUT/nats.log" 2>&1 &
NATS=$!
NATS_URL=nats://127.0.0.1:$NATS_PORT
PID=
DATA=
cleanup() {
  [ -n "$PID" ] && kill -TERM "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
  kill "$SINK" "$NATS" 2>/dev/null || true
  rm -rf "$NATS_DIR"
  [ -n "$DATA" ] && rm -rf "$DATA"
}
trap cleanup EXIT

run() {
  local mode=$1
  DATA=$(mktemp -d)
  local port
  port=$(free_port)
  local base=http://127.0.0.1:$port
  (
    # Limits raised so the run measures capacity, not abuse limits (as kefu-bench does).
    export KEFU_DATA_DIR=$DATA KEFU_LISTEN=127.0.0.1:$port RUST_LOG=warn
    for v in VISITOR_MESSAGES_PER_MINUTE WS_FRAMES_PER_SECOND WS_FRAME_BURST WIDGET_SESSIONS_PER_MINUTE \
             LOGIN_ATTEMPTS_PER_MINUTE MAX_CONNECTIONS_PER_IP CONNECTIONS_PER_IP_PER_SECOND CONNECTIONS_PER_IP_BURST; do
      export "KEFU_LIMITS__$v=1000000"
    done
    if [ "$mode" = integrations ]; then
      export KEFU_WEBHOOKS__ALLOW_PRIVATE_NETWORKS=true
      export KEFU_BUS__NATS__ENABLED=true KEFU_BUS__NATS__URL=$NATS_URL
    fi
    KEFU_USER_PASSWORD=bench-password-1 "$KEFU" user create --workspace bench \
      --email owner@bench.local --role owner >/dev/null
    exec "$KEFU" serve >"$OUT/$mode-server.log" 2>&1
  ) &
  PID=$!
  for _ in $(seq 1 500); do
    curl -fs "$base/readyz" >/dev/null && break
    sleep 0.02
  done
  curl -fs "$base/readyz" >/dev/null || { echo "kefu did not become ready" >&2; exit 1; }
  if [ "$mode" = integrations ]; then
    local token
    token=$(curl -fs "$base/api/v1/auth/login" -H 'content-type: application/json' \
      -d '{"email": "owner@bench.local", "password": "bench-password-1"}' |
      python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])')
    curl -fs "$base/api/v1/webhooks" -H "authorization: Bearer $token" -H 'content-type: application/json' \
      -d "{\"url\": \"http://127.0.0.1:$SINK_PORT/hook\", \"event_types\": [\"*\"], \"description\": \"bench\"}" >/dev/null
  fi
  local t0
  t0=$(date +%s.%N)
  "$BENCH" --server "$base" --server-pid "$PID" --out "$OUT/$mode" "$SCENARIO" >/dev/null
  local t1
  t1=$(date +%s.%N)
  if [ "$mode" = integrations ]; then
    # The load is over: wait for the receiver to stop counting (the backlog drained).
    local last=-1 now
    for _ in $(seq 1 600); do
      sleep 1
      now=$(cut -d' ' -f1 "$OUT/sink-count" 2>/dev/null || echo 0)
      [ "$now" = "$last" ] && break
      last=$now
    done
    echo "$t0 $t1 $(date +%s.%N)" >"$OUT/integrations-times"
    curl -fs "$base/api/v1/webhooks" -H "authorization: Bearer $token" >"$OUT/webhooks.json" || true
  fi
  kill -TERM "$PID" && wait "$PID" || true
  PID=
  rm -rf "$DATA"
  DATA=
}

echo "bench-integrations: $SCENARIO, plain then with one webhook subscription and NATS"
run plain
run integrations

python3 - "$OUT" "$NAME" <<'PY'
import json, sys
out, name = sys.argv[1], sys.argv[2]
def top(mode):
    r = json.load(open(f"{out}/{mode}/{name}/result.json"))["outcome"]
    step = max(r["steps"], key=lambda s: s["offered_per_sec"])
    return step, r
plain, pr = top("plain")
integ, ir = top("integrations")
count, span = open(f"{out}/sink-count").read().split()
t0, t1, t2 = map(float, open(f"{out}/integrations-times").read().split())
ratio = integ["achieved_per_sec"] / plain["achieved_per_sec"] * 100
print(f"plain:        {plain['achieved_per_sec']:.0f} acknowledged sends/s at {plain['offered_per_sec']} offered "
      f"(v->a p99 {plain['visitor_to_agent']['p99']:.1f} ms; lost {pr['lost']}, errors {pr['errors']})")
print(f"integrations: {integ['achieved_per_sec']:.0f} acknowledged sends/s at {integ['offered_per_sec']} offered "
      f"(v->a p99 {integ['visitor_to_agent']['p99']:.1f} ms; lost {ir['lost']}, errors {ir['errors']})")
print(f"ratio: {ratio:.0f} % of plain (target: at least 80 %)")
print(f"webhooks: {count} deliveries in {float(span):.1f} s = {int(count) / max(float(span), 0.001):.0f}/s; "
      f"backlog drained {t2 - t1:.1f} s after the load stopped")
PY
