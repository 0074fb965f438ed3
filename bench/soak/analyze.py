#!/usr/bin/env python3
"""Reads what bench/soak.sh recorded and prints the verdict.

    analyze.py WORKDIR WINDOW_SECONDS RSS_GROWTH_PCT THREAD_GROWTH_PCT

WORKDIR holds samples.tsv (elapsed_s, phase, rss_kb, threads, fds; one line a
second), and <phase>.wrk (wrk's output, ending with the SOAK line that
bench/soak/mix.lua prints) and slow.out (the SLOW line) per phase. Exits 1
when a request failed, or from the first window to the last of a phase
memory grew past RSS_GROWTH_PCT or the most threads past THREAD_GROWTH_PCT.
"""

import sys
from pathlib import Path


def kv_line(path, tag):
    if not path.exists():
        return None
    for line in path.read_text().splitlines():
        if line.startswith(tag + " "):
            return dict(p.split("=", 1) for p in line.split()[1:])
    return None


def mean(xs):
    return sum(xs) / len(xs) if xs else 0.0


def main():
    work, window = Path(sys.argv[1]), int(sys.argv[2])
    growth_pct, thread_pct = float(sys.argv[3]), float(sys.argv[4])
    rows = []
    for line in (work / "samples.tsv").read_text().splitlines():
        t, phase, rss, threads, fds = line.split("\t")
        rows.append((float(t), phase, int(rss), int(threads), int(fds)))

    failed = False
    print()
    print("| phase | requests | req/s | failed (non-2xx/3xx, socket errors) | p50 / p99 / max ms |")
    print("|---|---:|---:|---|---|")
    for phase in ("warmup", "load", "load+slow"):
        w = kv_line(work / f"{phase}.wrk", "SOAK")
        if w is None:
            print(f"| {phase} | (no wrk summary) | | | |")
            failed = True
            continue
        bad = sum(int(w[k]) for k in ("non2xx3xx", "connect_errors", "read_errors",
                                      "write_errors", "timeouts"))
        failed |= bad != 0 or int(w["requests"]) == 0
        print(f"| {phase} | {w['requests']} | {w['rps']} | {bad} (status {w['non2xx3xx']}, "
              f"connect {w['connect_errors']}, read {w['read_errors']}, write {w['write_errors']}, "
              f"timeout {w['timeouts']}) | {w['p50_ms']} / {w['p99_ms']} / {w['max_ms']} |")

    print()
    print(f"| phase | RSS first {window} s (MiB) | RSS last {window} s (MiB) | growth | "
          f"threads first / last {window} s (min-max) | fds first / last (max) |")
    print("|---|---:|---:|---:|---|---|")
    for phase in ("load", "load+slow"):
        pts = [r for r in rows if r[1] == phase]
        if len(pts) < 2:
            print(f"| {phase} | (no samples) | | | | |")
            failed = True
            continue
        t0, t1 = pts[0][0], pts[-1][0]
        first = [r for r in pts if r[0] < t0 + window]
        last = [r for r in pts if r[0] > t1 - window]
        rss_a, rss_b = mean([r[2] for r in first]) / 1024, mean([r[2] for r in last]) / 1024
        growth = (rss_b - rss_a) / rss_a * 100 if rss_a else 0.0
        th_a = (min(r[3] for r in first), max(r[3] for r in first))
        th_b = (min(r[3] for r in last), max(r[3] for r in last))
        fd_a, fd_b = max(r[4] for r in first), max(r[4] for r in last)
        # Flat: memory may settle a little, not keep climbing. Threads come
        # from pools that grow to the peak concurrency and are reused; a
        # leak would keep adding them.
        if growth > growth_pct:
            failed = True
        if th_b[1] > th_a[1] * (1 + thread_pct / 100):
            failed = True
        print(f"| {phase} | {rss_a:.1f} | {rss_b:.1f} | {growth:+.1f}% | "
              f"{th_a[0]}-{th_a[1]} / {th_b[0]}-{th_b[1]} | {fd_a} / {fd_b} |")

    slow = kv_line(work / "slow.out", "SLOW")
    if slow:
        print()
        print("slow clients: " + ", ".join(f"{k} {v}" for k, v in slow.items()))
    idle = [r for r in rows if r[1] == "after"]
    if idle:
        print(f"after the load: RSS {idle[-1][2] / 1024:.1f} MiB, threads {idle[-1][3]}, "
              f"fds {idle[-1][4]}")
    print()
    print("VERDICT: " + ("FAIL" if failed else "PASS"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
