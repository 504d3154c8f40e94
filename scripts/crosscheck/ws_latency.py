#!/usr/bin/env python3
"""An independent check of kefu-bench's visitor -> agent latency.

A minimal client of kefu's documented protocol (docs/protocol.md) that shares
no code with kefu-bench: Python's asyncio, the `websockets` package and the
standard library's JSON and HTTP. It

1. logs in as the owner (made beforehand with `kefu user create`), creates an
   inbox and the agents over the REST API, and logs the agents in;
2. opens a widget session per visitor, connects every agent and visitor over
   WebSocket (first frame `auth`, then `hello`), and has each visitor open its
   conversation with a first `send` (answered by an `ack`);
3. sends `--rate` messages a second for `--warmup` + `--secs` seconds,
   evenly paced on one clock (message k is due at start + k / rate; visitor
   k mod V sends it), each carrying its due time and the time it was handed
   to the socket;
4. has the agent that owns the visitor (visitor index mod agents) record, on
   the `message` frame, now - send time. Messages due in the warm-up are not
   recorded. asyncio's timers wake up to a millisecond late, so this client's
   own lateness is kept out of the figure (it is printed as "send lag"), and
   the latency from the due time is printed too;
5. prints p50/p90/p99/max in ms (and writes them as JSON with --json).

Both ends are in this process, so they share the monotonic clock.
"""

import argparse
import asyncio
import json
import math
import sys
import time
import urllib.request

from websockets.asyncio.client import connect


def http_json(method, url, body=None, token=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("content-type", "application/json")
    if token:
        req.add_header("authorization", f"Bearer {token}")
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read() or b"null")


def login(base, email, password):
    return http_json("POST", f"{base}/api/v1/auth/login",
                     {"email": email, "password": password})["access_token"]


async def ws_open(ws_url, token):
    """Connects, authenticates with the first frame, waits for `hello`."""
    ws = await connect(ws_url, compression=None, proxy=None, max_queue=None,
                       ping_interval=None, origin="https://shop.example.com")
    await ws.send(json.dumps({"type": "auth", "v": 1, "token": token}))
    hello = json.loads(await ws.recv())
    if hello.get("type") != "hello":
        raise RuntimeError(f"expected hello, got {hello}")
    return ws


def percentile(sorted_ms, q):
    """Nearest-rank percentile of an ascending list."""
    if not sorted_ms:
        return float("nan")
    rank = max(1, math.ceil(q * len(sorted_ms)))
    return sorted_ms[rank - 1]


async def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--base", required=True, help="http://127.0.0.1:PORT")
    p.add_argument("--owner-email", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--rate", type=float, default=500.0, help="messages per second, all visitors")
    p.add_argument("--secs", type=float, default=20.0, help="measured seconds")
    p.add_argument("--warmup", type=float, default=5.0, help="seconds sent but not recorded")
    p.add_argument("--visitors", type=int, default=100)
    p.add_argument("--agents", type=int, default=1)
    p.add_argument("--payload", type=int, default=64, help="bytes of text per message")
    p.add_argument("--json", help="write the result here")
    a = p.parse_args()

    base = a.base.rstrip("/")
    ws_url = "ws://" + base.split("://", 1)[1] + "/ws"
    owner = login(base, a.owner_email, a.password)
    inbox = http_json("POST", f"{base}/api/v1/inboxes", {"name": "Crosscheck"}, owner)
    agent_tokens = []
    run = time.strftime("%H%M%S")  # several runs may share one server
    for i in range(a.agents):
        email = f"xc-{run}-agent{i}@crosscheck.local"
        http_json("POST", f"{base}/api/v1/users",
                  {"email": email, "name": f"XC {i}", "password": a.password,
                   "role": "agent", "capacity": 1000}, owner)
        agent_tokens.append(login(base, email, a.password))
    visitor_tokens = [
        http_json("POST", f"{base}/api/v1/widget/session",
                  {"inbox_key": inbox["public_key"], "page_url": "https://shop.example.com/xc"})["visitor_token"]
        for _ in range(a.visitors)
    ]

    clock = time.monotonic_ns
    warm_n = int(a.warmup * a.rate)
    total_n = warm_n + int(a.secs * a.rate)
    latencies_ms = []  # from the send
    from_due_ms = []  # from the due time
    lag_ms = []  # due -> sent
    received = [0]
    filler = "x" * a.payload

    async def agent(idx, ws):
        async for raw in ws:
            now = clock()
            f = json.loads(raw)
            if f.get("type") != "message":
                continue
            m = f["message"]
            if m["sender"]["kind"] != "visitor" or not m["content"].startswith("xc "):
                continue
            _, k, due, sent, _ = m["content"].split(" ", 4)
            k = int(k)
            if (k % a.visitors) % a.agents != idx:
                continue
            received[0] += 1
            if k >= warm_n:
                latencies_ms.append((now - int(sent)) / 1e6)
                from_due_ms.append((now - int(due)) / 1e6)
                lag_ms.append((int(sent) - int(due)) / 1e6)

    async def drain(ws):
        # A visitor receives its acks and its own messages back; read them so
        # the server never sees a slow consumer.
        async for _ in ws:
            pass

    agents = [await ws_open(ws_url, t) for t in agent_tokens]
    readers = [asyncio.create_task(agent(i, ws)) for i, ws in enumerate(agents)]
    visitors = []
    for i, t in enumerate(visitor_tokens):
        ws = await ws_open(ws_url, t)
        await ws.send(json.dumps({"type": "send", "client_msg_id": f"open-{i}", "content": "hello"}))
        conv = None
        while conv is None:
            f = json.loads(await ws.recv())
            if f.get("type") == "ack":
                conv = f["conversation_id"]
            elif f.get("type") == "error":
                raise RuntimeError(f"opening conversation: {f}")
        visitors.append((ws, conv))
    readers += [asyncio.create_task(drain(ws)) for ws, _ in visitors]
    await asyncio.sleep(0.5)

    start = clock() + 20_000_000
    for k in range(total_n):
        due = start + k * 1_000_000_000 // int(a.rate)
        wait = due - clock()
        if wait > 0:
            await asyncio.sleep(wait / 1e9)
        ws, conv = visitors[k % a.visitors]
        sent = clock()
        await ws.send(json.dumps({"type": "send", "client_msg_id": f"xc-{k}",
                                  "conversation_id": conv,
                                  "content": f"xc {k} {due} {sent} {filler}"}))
    sent_secs = (clock() - start) / 1e9
    deadline = time.monotonic() + 5
    while received[0] < total_n and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    for r in readers:
        r.cancel()
    for ws in agents + [v[0] for v in visitors]:
        await ws.close()

    lat, due_lat, lag = sorted(latencies_ms), sorted(from_due_ms), sorted(lag_ms)
    out = {
        "client": "scripts/crosscheck/ws_latency.py",
        "rate": a.rate, "visitors": a.visitors, "agents": a.agents,
        "warmup_secs": a.warmup, "secs": a.secs,
        "sent": total_n, "received": received[0], "recorded": len(lat),
        "achieved_per_sec": total_n / sent_secs,
        "p50": percentile(lat, 0.50), "p90": percentile(lat, 0.90),
        "p99": percentile(lat, 0.99), "max": lat[-1] if lat else float("nan"),
        "from_due_p50": percentile(due_lat, 0.50), "from_due_p99": percentile(due_lat, 0.99),
        "send_lag_p50": percentile(lag, 0.50), "send_lag_p99": percentile(lag, 0.99),
    }
    print(f"independent client: {a.rate:.0f} msg/s, {a.visitors} visitors, {a.agents} agents, "
          f"{a.secs:.0f} s after {a.warmup:.0f} s of warm-up: v->a p50 {out['p50']:.2f} ms, "
          f"p90 {out['p90']:.2f} ms, p99 {out['p99']:.2f} ms, max {out['max']:.2f} ms "
          f"(n={len(lat)}, {received[0]}/{total_n} received); from the due time p99 "
          f"{out['from_due_p99']:.2f} ms; send lag p50 {out['send_lag_p50']:.2f} ms, "
          f"p99 {out['send_lag_p99']:.2f} ms")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=2)
    if received[0] < total_n:
        print(f"independent client: {total_n - received[0]} messages never reached their agent",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
