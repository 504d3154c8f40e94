#!/usr/bin/env bash
# Is the load generator honest at low rates? Starts one release kefu on a
# temporary data dir and a free loopback port, then measures visitor -> agent
# latency on it twice, one after the other, with the same load (the shape in
# bench/crosscheck/chat-500.toml: 500 messages a second, evenly paced):
#   1. kefu-bench, attached to that server (--server);
#   2. scripts/crosscheck/ws_latency.py, a minimal client of the documented
#      protocol sharing no code with kefu-bench (Python, `websockets`, in a
#      venv made here under the cargo target dir).
# Both count latency on their own clock; kefu-bench from when each send was
# due, the independent client from when it handed each message to its socket
# (its own timer lateness is not the server's). Fails if the two p99s (the
# medians over ROUNDS rounds) differ by more than TOLERANCE percent (default
# 20). Results: $OUT (default target/bench-check), per round kefu-bench's
# folder and independent.json. `make bench-check` runs this.
set -euo pipefail
cd "$(dirname "$0")/.."

SCENARIO=${SCENARIO:-bench/crosscheck/chat-500.toml}
TOLERANCE=${TOLERANCE:-20}
# Rounds of (kefu-bench, then the independent client); the medians of their
# p99s are compared, so a burst of other work on a shared machine during one
# run does not decide the verdict alone.
ROUNDS=${ROUNDS:-3}
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

echo "bench-check: kefu $KEFU on $BASE; $RATE msg/s from $VISITORS visitors to $AGENTS agent(s), ${WARMUP} s warm-up + ${SECS} s measured, $ROUNDS round(s)"
NAME=$(python3 -c 'import sys, tomllib; print(tomllib.load(open(sys.argv[1], "rb"))["name"])' "$SCENARIO")
rm -rf "$OUT"
# CPU time the whole machine spent busy (all processes, these runs included), in ticks.
busy_ticks() { awk 'NR == 1 { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }
# Runs "$@", writing the machine's busy cores during it (this run included) to file $1.
measured() {
  local file=$1 t0 b0
  shift
  t0=$(date +%s.%N) b0=$(busy_ticks)
  "$@"
  echo "$(busy_ticks) $b0 $(date +%s.%N) $t0 $(getconf CLK_TCK)" |
    awk '{ printf "%.2f\n", ($1 - $2) / $5 / ($3 - $4) }' >"$file"
}
for r in $(seq 1 "$ROUNDS"); do
  mkdir -p "$OUT/round-$r"
  measured "$OUT/round-$r/busy-bench" \
    "$BENCH" --server "$BASE" --server-pid "$PID" --out "$OUT/round-$r" "$SCENARIO" >/dev/null
  measured "$OUT/round-$r/busy-independent" \
    "$VENV/bin/python" scripts/crosscheck/ws_latency.py --base "$BASE" \
    --owner-email owner@bench.local --password bench-password-1 \
    --rate "$RATE" --visitors "$VISITORS" --agents "$AGENTS" --warmup "$WARMUP" --secs "$SECS" \
    --json "$OUT/round-$r/independent.json" >/dev/null
done

python3 - "$OUT" "$NAME" "$ROUNDS" "$TOLERANCE" <<'PY'
import json, statistics, sys
out, name, rounds, tol = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
kb, ind = [], []
for r in range(1, rounds + 1):
    step = json.load(open(f"{out}/round-{r}/{name}/result.json"))["outcome"]["steps"][0]
    i = json.load(open(f"{out}/round-{r}/independent.json"))
    b = step["visitor_to_agent"]
    busy = [open(f"{out}/round-{r}/busy-{w}").read().strip() for w in ("bench", "independent")]
    kb.append(b["p99"]); ind.append(i["p99"])
    print(f"round {r}: kefu-bench p50 {b['p50']:.2f} ms, p99 {b['p99']:.2f} ms (n={b['count']}, from the due "
          f"time; send lag p99 {step['send_lag']['p99']:.2f} ms; machine busy {busy[0]} cores) | "
          f"independent p50 {i['p50']:.2f} ms, p99 {i['p99']:.2f} ms (n={i['recorded']}, from the send; "
          f"send lag p99 {i['send_lag_p99']:.2f} ms; machine busy {busy[1]} cores)")
b, i = statistics.median(kb), statistics.median(ind)
diff = abs(b - i) / i * 100
verdict = "OK" if diff <= tol else "FAILED"
print(f"bench-check: median p99 kefu-bench {b:.2f} ms, independent client {i:.2f} ms: "
      f"{diff:.0f} % apart (tolerance {tol:.0f} %): {verdict}")
print("(machine busy: cores in use during the run, the server and that client included; "
      "the server and one client alone take about 0.2-0.4, more means other work shared the two cores)")
sys.exit(0 if verdict == "OK" else 1)
PY
