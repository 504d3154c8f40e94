#!/usr/bin/env bash
# Is the load generator honest at low rates? Starts one release kefu on a
# temporary data dir and a free loopback port, then measures visitor -> agent
# latency on it twice, one after the other, with the same load (the shape in
# bench/crosscheck/chat-500.toml: 500 messages a second, evenly paced):
#   1. kefu-bench, attached to that server (--server);
#   2. scripts/crosscheck/ws_latency.py, a minimal client of the documented
#      protocol sharing no code with kefu-bench (Python, `websockets`, in a
#      venv made here under the cargo target dir).
# Fails if the two p99s differ by more than TOLERANCE percent (default 20).
# Results: $OUT (default target/bench-check): kefu-bench's folder and
# independent.json. `make bench-check` runs this.
set -euo pipefail
cd "$(dirname "$0")/.."

SCENARIO=${SCENARIO:-bench/crosscheck/chat-500.toml}
TOLERANCE=${TOLERANCE:-20}
CARGO=${CARGO:-cargo}
TARGET_DIR=$(realpath -m "${CARGO_TARGET_DIR:-target}")
OUT=$(realpath -m "${OUT:-target/bench-check}")
KEFU=$TARGET_DIR/release/kefu
BENCH=$TARGET_DIR/release/kefu-bench
VENV=$TARGET_DIR/crosscheck-venv

if [ -z "${NO_BUILD:-}" ]; then
  $CARGO build --release --locked -p kefu-server --bin kefu
  $CARGO build --release --locked -p kefu-bench
fi
if ! "$VENV/bin/python" -c 'import websockets' 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet -r scripts/crosscheck/requirements.txt
fi

# The load's shape, from the scenario (Python 3.11 reads TOML).
read -r VISITORS AGENTS RATE WARMUP SECS < <(python3 - "$SCENARIO" <<'PY'
import sys, tomllib
s = tomllib.load(open(sys.argv[1], "rb"))
assert s["kind"] == "chat" and len(s["rates"]) == 1 and s.get("reply_ratio") == 0.0, \
    "one rate, no replies: the independent client neither replies nor steps"
print(s["visitors"], s.get("agents", 1), s["rates"][0], s.get("warmup_secs", 2), s.get("step_secs", 10))
PY
)
[ -n "${SECS:-}" ] || { echo "bench-check: cannot use $SCENARIO" >&2; exit 1; }

DATA=$(mktemp -d)
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
BASE=http://127.0.0.1:$PORT
# As kefu-bench starts its own servers: limits raised so the run measures
# capacity, not abuse limits (every simulated user shares a few loopback addresses).
export KEFU_DATA_DIR=$DATA KEFU_LISTEN=127.0.0.1:$PORT RUST_LOG=warn
for v in VISITOR_MESSAGES_PER_MINUTE WS_FRAMES_PER_SECOND WS_FRAME_BURST WIDGET_SESSIONS_PER_MINUTE \
         LOGIN_ATTEMPTS_PER_MINUTE MAX_CONNECTIONS_PER_IP CONNECTIONS_PER_IP_PER_SECOND CONNECTIONS_PER_IP_BURST; do
  export "KEFU_LIMITS__$v=1000000"
done
KEFU_USER_PASSWORD=bench-password-1 "$KEFU" user create --workspace bench \
  --email owner@bench.local --role owner >/dev/null
"$KEFU" serve >/dev/null &
PID=$!
cleanup() { kill -TERM "$PID" 2>/dev/null && wait "$PID" 2>/dev/null; rm -rf "$DATA"; }
trap cleanup EXIT
for _ in $(seq 1 500); do
  curl -fs "$BASE/readyz" >/dev/null && break
  sleep 0.02
done
curl -fs "$BASE/readyz" >/dev/null || { echo "kefu did not become ready" >&2; exit 1; }

echo "bench-check: kefu $KEFU on $BASE; $RATE msg/s from $VISITORS visitors to $AGENTS agent(s), ${WARMUP} s warm-up + ${SECS} s measured; load average $(cut -d' ' -f1-3 /proc/loadavg)"
mkdir -p "$OUT"
"$BENCH" --server "$BASE" --server-pid "$PID" --out "$OUT" "$SCENARIO" >/dev/null
NAME=$(python3 -c 'import sys, tomllib; print(tomllib.load(open(sys.argv[1], "rb"))["name"])' "$SCENARIO")
"$VENV/bin/python" scripts/crosscheck/ws_latency.py --base "$BASE" \
  --owner-email owner@bench.local --password bench-password-1 \
  --rate "$RATE" --visitors "$VISITORS" --agents "$AGENTS" --warmup "$WARMUP" --secs "$SECS" \
  --json "$OUT/independent.json"

python3 - "$OUT/$NAME/result.json" "$OUT/independent.json" "$TOLERANCE" <<'PY'
import json, sys
bench = json.load(open(sys.argv[1]))["outcome"]["steps"][0]
ind = json.load(open(sys.argv[2]))
tol = float(sys.argv[3])
b, i = bench["visitor_to_agent"], ind
print(f"kefu-bench:         v->a p50 {b['p50']:.2f} ms, p99 {b['p99']:.2f} ms (n={b['count']}; "
      f"from the due time; its send lag p99 {bench['send_lag']['p99']:.2f} ms)")
print(f"independent client: v->a p50 {i['p50']:.2f} ms, p99 {i['p99']:.2f} ms (n={i['recorded']}; "
      f"from the send; its send lag p99 {i['send_lag_p99']:.2f} ms)")
diff = abs(b["p99"] - i["p99"]) / i["p99"] * 100
verdict = "OK" if diff <= tol else "FAILED"
print(f"bench-check: p99 differ by {diff:.0f} % (tolerance {tol:.0f} %): {verdict}")
sys.exit(0 if verdict == "OK" else 1)
PY
