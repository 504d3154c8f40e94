#!/usr/bin/env python3
"""The arrivals kefu-bench offered before and after its pacing change, and
what they cost in a crude queue (docs/benchmarks.md, "Pacing and timing").

500 visitors, 500 msg/s, 20 s. Before: each visitor's next send came
U(0.5, 1.5) x its interval after its previous one (the first at a random
point of a jittered interval). After: visitor i sends at (i + u_i)/n of its
interval, then every interval. Prints how many sends fall in each 10 ms
window, how many come within 0.2 ms of the previous one, and the p99/max
wait in one FIFO server with a fixed service time (arrivals only: kefu's
writer commits in groups, which absorbs part of a clump).
"""
import random
import statistics

V, R, T = 500, 500, 20.0
I = V / R


def before():
    ts = []
    for _ in range(V):
        t = random.random() * I * random.uniform(0.5, 1.5)
        while t < T:
            ts.append(t)
            t += I * random.uniform(0.5, 1.5)
    return sorted(ts)


def after():
    ts = []
    for v in range(V):
        p, k = (v + random.random()) / V, 0
        while (p + k) * I < T:
            ts.append((p + k) * I)
            k += 1
    return sorted(ts)


def wait(ts, service):
    free, waits = 0.0, []
    for t in ts:
        start = max(t, free)
        waits.append(start - t)
        free = start + service
    waits.sort()
    return waits[int(0.99 * len(waits))] * 1000, waits[-1] * 1000


random.seed(1)
for name, make in [("before (random gaps)", before), ("after (paced)", after)]:
    ts = make()
    gaps = [b - a for a, b in zip(ts, ts[1:])]
    windows = [0] * int(T / 0.010)
    for t in ts:
        windows[int(t / 0.010)] += 1
    queue = "; ".join(
        "%.1f ms service: wait p99 %.2f, max %.2f ms" % ((s * 1000,) + wait(ts, s)) for s in (0.001, 0.0015)
    )
    print(f"{name}: {len(ts) / T:.0f}/s; per 10 ms: mean {statistics.mean(windows):.1f}, "
          f"min {min(windows)}, max {max(windows)}; gaps < 0.2 ms: "
          f"{sum(g < 0.0002 for g in gaps) / len(gaps) * 100:.1f} %; {queue}")
