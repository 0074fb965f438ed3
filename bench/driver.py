#!/usr/bin/env python3
"""Runs the side-by-side benchmark of issue 7 and prints a markdown report.

Called by bench/run.sh after it has installed wrk, Flask and gunicorn and
built flaskrs-host and the bare tiny_http example in release mode. Servers run
one at a time on 127.0.0.1 (free ports picked here), so they never compete
with each other for the two cores; wrk drives each endpoint with keep-alive
and with `Connection: close`, while a sampler thread reads the RSS of the
server's whole process tree from /proc.

Every process started here is remembered by PID and ended by that PID on
exit, whatever the exit (normal, exception, SIGINT, SIGTERM, SIGHUP).

Settings (environment variables):
    BENCH_DURATION     seconds per wrk run (3)
    BENCH_ROUNDS       runs per server, endpoint and mode, interleaved across
                       the servers; the report keeps the median (3)
    BENCH_WARMUP       seconds of keep-alive warm-up per endpoint (1; 0: none)
    BENCH_CONNECTIONS  wrk connections (16)
    BENCH_WRK_THREADS  wrk threads (1: leaves a core for the server)
    BENCH_THREADS      worker threads of flaskrs-host and the bare server
                       (flaskrs-host's own default: 2 per core, at least 8)
    BENCH_SERVERS      comma list among flaskrs,gthread,sync,bare,alt (all)
    BENCH_FLASKRS_ALT  another flaskrs-host binary, run as server "alt" (A/B)
    BENCH_ENDPOINTS    comma list among hello,user,page,counter,form,json,static (all)
    BENCH_OUT          where the report is written (bench/results/latest.md)
"""

from __future__ import annotations

import atexit
import datetime
import os
import platform
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))


def env_int(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        sys.exit(f"{name} must be an integer")


DURATION = env_int("BENCH_DURATION", 3)
ROUNDS = max(1, env_int("BENCH_ROUNDS", 3))
WARMUP = env_int("BENCH_WARMUP", 1)
CONNECTIONS = env_int("BENCH_CONNECTIONS", 16)
WRK_THREADS = env_int("BENCH_WRK_THREADS", 1)
THREADS = env_int("BENCH_THREADS", max(2 * (os.cpu_count() or 1), 8))
START_TIMEOUT = 20.0  # seconds a server gets to answer its first request
SAMPLE_EVERY = 0.05  # seconds between RSS samples

# ---------------------------------------------------------------------------
# Endpoints


@dataclass
class Endpoint:
    key: str
    label: str
    path: str
    method: str = "GET"
    body: str = ""
    content_type: str = ""
    session: bool = False  # primed with a session cookie first


FORM_BODY = "name=Ann+%3CAdmin%3E&email=ann%40example.com&message=" + "Hello+there%21+" * 8

ENDPOINTS = [
    Endpoint("hello", "hello `/`", "/"),
    Endpoint("user", "`/user/<name>`", "/user/J%C3%BCrgen%3Cb%3E"),
    Endpoint("page", "template page", "/page"),
    Endpoint("counter", "session counter", "/counter", session=True),
    Endpoint(
        "form",
        "form POST",
        "/form",
        method="POST",
        body=FORM_BODY,
        content_type="application/x-www-form-urlencoded",
    ),
    Endpoint("json", "JSON API", "/api/items"),
    Endpoint("static", "static file", "/static/style.css"),
]

# ---------------------------------------------------------------------------
# Servers


@dataclass
class ServerSpec:
    key: str
    label: str
    argv: list[str]  # "{port}" is replaced
    cwd: Path = ROOT
    only: tuple[str, ...] = ()  # endpoints it serves; empty: all


def server_specs() -> list[ServerSpec]:
    host_bin = TARGET / "release" / "flaskrs-host"
    bare_bin = TARGET / "release" / "examples" / "bare_tiny_http"
    gunicorn = [sys.executable, "-m", "gunicorn", "--chdir", str(BENCH / "flask_app"),
                "--bind", "127.0.0.1:{port}", "--log-level", "warning"]
    return [
        ServerSpec("flaskrs", "flaskrs-host",
                   [str(host_bin), "run", str(BENCH / "app" / "bench.rhai"),
                    "--host", "127.0.0.1", "--port", "{port}", "--threads", str(THREADS)]),
        ServerSpec("gthread", "gunicorn gthread 2×4",
                   gunicorn + ["--workers", "2", "--worker-class", "gthread",
                               "--threads", "4", "app:app"]),
        ServerSpec("sync", "gunicorn sync 2",
                   gunicorn + ["--workers", "2", "--worker-class", "sync", "app:app"]),
        ServerSpec("bare", f"bare tiny_http ({THREADS} threads)",
                   [str(bare_bin), "127.0.0.1:{port}", str(THREADS)], only=("hello",)),
    ] + alt_specs()


def alt_specs() -> list[ServerSpec]:
    """`BENCH_FLASKRS_ALT=/path/to/flaskrs-host` adds that binary as server
    `alt`, measured in turn with the others: an A/B run of a change."""
    alt = os.environ.get("BENCH_FLASKRS_ALT")
    if not alt:
        return []
    return [ServerSpec("alt", f"flaskrs-host ALT ({Path(alt).name})",
                       [alt, "run", str(BENCH / "app" / "bench.rhai"), "--host", "127.0.0.1",
                        "--port", "{port}", "--threads", str(THREADS)])]


# ---------------------------------------------------------------------------
# Processes: started here, ended here, by PID only.

STARTED: list[subprocess.Popen] = []
# Descendants of our servers (gunicorn's workers), found by the sampler, with
# their start times so that a PID reused by someone else is never signalled.
SEEN_CHILDREN: dict[int, str] = {}


def start_time(pid: int) -> str:
    """Field 22 of /proc/<pid>/stat (start time in clock ticks), or ""."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    # The command name (field 2) may hold spaces; fields after it don't.
    return stat.rsplit(")", 1)[-1].split()[19]


def cleanup() -> None:
    for proc in STARTED:
        if proc.poll() is None:
            try:
                proc.send_signal(signal.SIGTERM)
            except ProcessLookupError:
                pass
    for proc in STARTED:
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
    # gunicorn's workers leave when their master does; any that did not
    # (the very process we saw: same PID and start time) goes now.
    for pid, started_at in sorted(SEEN_CHILDREN.items()):
        if started_at and start_time(pid) == started_at:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    STARTED.clear()


def on_signal(signum, _frame):
    raise SystemExit(128 + signum)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tree(pid: int) -> list[int]:
    """The PID and all its descendants, from /proc/<pid>/task/*/children."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                kids = Path(f"/proc/{p}/task/{task}/children").read_text().split()
                todo.extend(int(k) for k in kids)
        except OSError:
            continue
    return out


def status_kb(pid: int, field_name: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_rss_kb(pid: int) -> int:
    pids = tree(pid)
    for p in pids:
        if p != pid and p not in SEEN_CHILDREN:
            SEEN_CHILDREN[p] = start_time(p)
    return sum(status_kb(p, "VmRSS") for p in pids)


class RssSampler:
    """Peak of the summed VmRSS of a process tree while it runs."""

    def __init__(self, pid: int):
        self.pid = pid
        self.peak_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            self.peak_kb = max(self.peak_kb, tree_rss_kb(self.pid))
            self._stop.wait(SAMPLE_EVERY)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        # VmHWM covers any spike between samples, for single processes.
        pids = tree(self.pid)
        if len(pids) == 1:
            self.peak_kb = max(self.peak_kb, status_kb(self.pid, "VmHWM"))


def raw_get(port: int, path: str, timeout: float = 1.0) -> bytes:
    """One HTTP/1.0-style request on a fresh socket; the whole answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
        chunks = []
        while True:
            b = s.recv(65536)
            if not b:
                break
            chunks.append(b)
    return b"".join(chunks)


@dataclass
class Started:
    proc: subprocess.Popen
    port: int
    first_ms: float


def start(spec: ServerSpec) -> Started | None:
    port = free_port()
    argv = [a.replace("{port}", str(port)) for a in spec.argv]
    t0 = time.monotonic()
    # stdout/stderr to /dev/null: flaskrs-host writes an access-log line per
    # request, which a pipe read from Python would slow down. Without
    # RUST_BACKTRACE: a caught panic (answered 500, counted as non-2xx)
    # would otherwise symbolize a backtrace from the release build's debug
    # info, about 100 MB of RSS that the peak-memory figures would carry.
    env = {k: v for k, v in os.environ.items() if k != "RUST_BACKTRACE"}
    proc = subprocess.Popen(argv, cwd=spec.cwd, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True, env=env)
    STARTED.append(proc)
    while time.monotonic() - t0 < START_TIMEOUT:
        if proc.poll() is not None:
            break
        try:
            if raw_get(port, "/").startswith(b"HTTP/1.1 200"):
                return Started(proc, port, (time.monotonic() - t0) * 1000)
        except OSError:
            pass
        time.sleep(0.002)
    print(f"!! {spec.label} did not answer GET / within {START_TIMEOUT:.0f} s; "
          f"run by hand to see why: {' '.join(argv)}", file=sys.stderr)
    stop(proc)
    return None


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
    if proc in STARTED:
        STARTED.remove(proc)


# ---------------------------------------------------------------------------
# Requests and wrk


def fetch(port: int, ep: Endpoint, cookie: str = "") -> tuple[int, bytes, str]:
    """Status, body and the session cookie set (if any)."""
    data = ep.body.encode() if ep.method == "POST" else None
    req = urllib.request.Request(f"http://127.0.0.1:{port}{ep.path}", data=data,
                                 method=ep.method)
    if ep.content_type:
        req.add_header("Content-Type", ep.content_type)
    if cookie:
        req.add_header("Cookie", cookie)
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            status, body, headers = r.status, r.read(), r.headers
    except urllib.error.HTTPError as e:
        status, body, headers = e.code, e.read(), e.headers
    except OSError:
        return 0, b"", ""
    set_cookie = ""
    for h in headers.get_all("Set-Cookie") or []:
        if h.startswith("session="):
            set_cookie = h.split(";", 1)[0]
    return status, body, set_cookie


@dataclass
class WrkResult:
    rps: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    requests: int = 0
    non2xx: int = 0  # answers that were not 2xx or 3xx
    socket_errors: int = 0  # connect, read, write and timeout errors
    peak_rss_kb: int = 0
    note: str = ""


def to_ms(value: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value)
    if not m:
        return 0.0
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[m.group(2)]
    return float(m.group(1)) * scale


def parse_wrk(out: str) -> WrkResult:
    r = WrkResult()
    if m := re.search(r"Requests/sec:\s+([\d.]+)", out):
        r.rps = float(m.group(1))
    if m := re.search(r"^\s+50%\s+(\S+)", out, re.M):
        r.p50_ms = to_ms(m.group(1))
    if m := re.search(r"^\s+99%\s+(\S+)", out, re.M):
        r.p99_ms = to_ms(m.group(1))
    if m := re.search(r"(\d+) requests in", out):
        r.requests = int(m.group(1))
    if m := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out):
        r.socket_errors = sum(int(g) for g in m.groups())
    if m := re.search(r"Non-2xx or 3xx responses: (\d+)", out):
        r.non2xx = int(m.group(1))
    return r


def wrk_script(ep: Endpoint, tmp: Path) -> Path | None:
    if ep.method == "GET":
        return None
    script = tmp / f"{ep.key}.lua"
    script.write_text(
        f'wrk.method = "{ep.method}"\n'
        f'wrk.body = "{ep.body}"\n'
        f'wrk.headers["Content-Type"] = "{ep.content_type}"\n'
    )
    return script


def run_wrk(port: int, pid: int, ep: Endpoint, close: bool, seconds: int,
            cookie: str, tmp: Path) -> WrkResult:
    argv = ["wrk", "-t", str(WRK_THREADS), "-c", str(CONNECTIONS), "-d", f"{seconds}s",
            "--timeout", "2s", "--latency"]
    if close:
        argv += ["-H", "Connection: close"]
    if cookie:
        argv += ["-H", f"Cookie: {cookie}"]
    if script := wrk_script(ep, tmp):
        argv += ["-s", str(script)]
    argv.append(f"http://127.0.0.1:{port}{ep.path}")
    with RssSampler(pid) as sampler:
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 30)
            out = done.stdout + done.stderr
        except subprocess.TimeoutExpired:
            out = ""
    r = parse_wrk(out)
    r.peak_rss_kb = sampler.peak_kb
    if not r.requests:
        r.note = "wrk failed: " + out.strip().replace("\n", " ")[:200]
    return r


def median_result(runs: list[WrkResult]) -> WrkResult:
    """The round with the median requests/s, carrying the highest peak RSS
    and every failure of all rounds (a failure in any round must show)."""
    ordered = sorted(runs, key=lambda r: r.rps)
    mid = ordered[len(ordered) // 2]
    return WrkResult(
        rps=mid.rps, p50_ms=mid.p50_ms, p99_ms=mid.p99_ms, requests=mid.requests,
        non2xx=sum(r.non2xx for r in runs),
        socket_errors=sum(r.socket_errors for r in runs),
        peak_rss_kb=max(r.peak_rss_kb for r in runs),
        note="; ".join(r.note for r in runs if r.note),
    )


# ---------------------------------------------------------------------------
# The run


@dataclass
class ServerRun:
    spec: ServerSpec
    first_ms: float = 0.0
    idle_rss_kb: int = 0
    final_hwm_kb: int = 0
    results: dict[tuple[str, bool], WrkResult] = field(default_factory=dict)
    bodies: dict[str, bytes] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)  # endpoint -> why
    failed: str = ""


def start_all(specs: list[ServerSpec]) -> list[tuple[ServerRun, Started | None]]:
    """Starts the servers one after the other (each start timed alone) and
    leaves them all running, idle, for the interleaved measurements."""
    out = []
    for spec in specs:
        run = ServerRun(spec)
        print(f"== starting {spec.label}", file=sys.stderr, flush=True)
        started = start(spec)
        if started is None:
            run.failed = "did not start"
        else:
            run.first_ms = started.first_ms
            time.sleep(1.0)
            run.idle_rss_kb = tree_rss_kb(started.proc.pid)
        out.append((run, started))
    return out


def bench_all(specs: list[ServerSpec], endpoints: list[Endpoint], tmp: Path) -> list[ServerRun]:
    """Measures every endpoint and mode on each server in turn, so that the
    load other work puts on the machine drifts over all servers alike
    instead of favouring whichever ran at a quiet moment."""
    servers = start_all(specs)
    for ep in endpoints:
        live = []
        for run, started in servers:
            if started is None or (run.spec.only and ep.key not in run.spec.only):
                continue
            port = started.port
            cookie = ""
            if ep.session:
                _, _, cookie = fetch(port, ep)
            status, body, _ = fetch(port, ep, cookie)
            if status != 200:
                run.missing[ep.key] = f"HTTP {status}" if status else "no answer"
            elif ep.session and not cookie:
                run.missing[ep.key] = "no session cookie set"
            if ep.key in run.missing:
                print(f"   {run.spec.key:8} {ep.key}: skipped ({run.missing[ep.key]})",
                      file=sys.stderr, flush=True)
                continue
            run.bodies[ep.key] = body
            if WARMUP > 0:
                run_wrk(port, started.proc.pid, ep, False, WARMUP, cookie, tmp)
            live.append((run, started, cookie))
        for close in (False, True):
            # Rounds interleave the servers (A B C, A B C, ...): a burst of
            # other work on the shared machine hits one round of each, not
            # every run of one server; the median round is kept.
            rounds: dict[str, list[WrkResult]] = {run.spec.key: [] for run, _, _ in live}
            for _ in range(ROUNDS):
                for run, started, cookie in live:
                    rounds[run.spec.key].append(
                        run_wrk(started.port, started.proc.pid, ep, close, DURATION, cookie, tmp))
            for run, started, cookie in live:
                r = median_result(rounds[run.spec.key])
                run.results[(ep.key, close)] = r
                print(f"   {run.spec.key:8} {ep.key:8} {'close' if close else 'keep-alive':10} "
                      f"{r.rps:10.0f} req/s  p50 {r.p50_ms:7.2f} ms  p99 {r.p99_ms:7.2f} ms  "
                      f"peak {r.peak_rss_kb / 1024:6.1f} MB {r.note}", file=sys.stderr, flush=True)
    for run, started in servers:
        if started is not None:
            run.final_hwm_kb = sum(status_kb(p, "VmHWM") for p in tree(started.proc.pid))
            stop(started.proc)
    return [run for run, _ in servers]


# ---------------------------------------------------------------------------
# The report


def cmd_version(argv: list[str]) -> str:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=10)
        return (out.stdout + out.stderr).strip().splitlines()[0]
    except (OSError, IndexError, subprocess.TimeoutExpired):
        return "?"


def py_version(module: str) -> str:
    try:
        from importlib.metadata import version
        return version(module)
    except Exception:  # noqa: BLE001 - any failure means "unknown"
        return "?"


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


LOAD_AT_START = loadavg()


def machine() -> list[str]:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    rev = cmd_version(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"])
    return [
        f"- Date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC",
        f"- Machine: {cpu}, {os.cpu_count()} cores, {mem_gb:.0f} GiB; "
        f"{platform.system()} {platform.release()}",
        f"- flaskrs: {rev}; {cmd_version(['rustc', '--version'])}; release build; "
        f"{THREADS} worker threads (flaskrs-host and bare tiny_http)",
        f"- Python {platform.python_version()}, Flask {py_version('flask')}, "
        f"Werkzeug {py_version('werkzeug')}, gunicorn {py_version('gunicorn')}",
        f"- Load: {cmd_version(['wrk', '--version'])}; {WRK_THREADS} thread(s), "
        f"{CONNECTIONS} connections, {DURATION} s per run after {WARMUP} s warm-up, "
        f"127.0.0.1; all servers up, measured in turn per endpoint and mode, "
        f"{ROUNDS} interleaved round(s) each, median kept (failures summed over rounds)",
        f"- Load average at start / end: {LOAD_AT_START} / {loadavg()} "
        "(other work on the machine shares its cores)",
    ]


def mb(kb: int) -> str:
    return f"{kb / 1024:.1f}" if kb else "–"


def ratio(a: float, b: float, pct: bool = False) -> str:
    if not a or not b:
        return "–"
    x = a / b
    if pct:
        return f"{100 * x:.0f}%"
    return f"{x:.1f}×" if x >= 1 else f"{x:.2f}×"


def report(runs: list[ServerRun], endpoints: list[Endpoint]) -> str:
    by = {r.spec.key: r for r in runs}
    out = ["# flaskrs-host vs Flask: side-by-side run", ""] + machine() + [""]

    out += ["## Start-up and idle", "",
            "| server | first answered request | idle RSS | peak RSS (whole run, VmHWM) |",
            "|---|---:|---:|---:|"]
    for r in runs:
        if r.failed:
            out.append(f"| {r.spec.label} | {r.failed} | | |")
        else:
            out.append(f"| {r.spec.label} | {r.first_ms:.0f} ms | {mb(r.idle_rss_kb)} MB "
                       f"| {mb(r.final_hwm_kb)} MB |")
    out.append("")

    for close in (False, True):
        out += [f"## {'`Connection: close`' if close else 'Keep-alive'}", "",
                "| endpoint | server | req/s | p50 ms | p99 ms | peak RSS MB | non-2xx | socket errors |",
                "|---|---|---:|---:|---:|---:|---:|---:|"]
        for ep in endpoints:
            for r in runs:
                if r.spec.only and ep.key not in r.spec.only:
                    continue
                if r.failed:
                    continue
                if ep.key in r.missing:
                    out.append(f"| {ep.label} | {r.spec.label} | missing ({r.missing[ep.key]}) "
                               "| | | | |")
                    continue
                w = r.results.get((ep.key, close))
                if w is None:
                    continue
                out.append(f"| {ep.label} | {r.spec.label} | {w.rps:,.0f} | {w.p50_ms:.2f} "
                           f"| {w.p99_ms:.2f} | {mb(w.peak_rss_kb)} | {w.non2xx or ''} "
                           f"| {w.socket_errors or ''} {w.note} |")
        out.append("")
        if close:
            out += ["Socket errors with `Connection: close` are wrk's read errors: the bare "
                    "tiny_http server closes the connection without sending `Connection: close` "
                    "(tiny_http drops that header from every response), so wrk tries the closed "
                    "connection once more before reconnecting. flaskrs-host frames its answers "
                    "itself and says `Connection: close`. Every request was still answered.", ""]

    f = by.get("flaskrs")
    if f and not f.failed:
        out += ["## flaskrs-host as a ratio to the others", "",
                "req/s: flaskrs ÷ other (higher is better); p99 and peak RSS: other ÷ flaskrs "
                "(higher is better for flaskrs); bare: flaskrs as a share of the ceiling.", "",
                "| endpoint | mode | req/s vs gthread | req/s vs sync | req/s vs bare "
                "| p99 vs gthread | p99 vs sync | RSS vs gthread | RSS vs sync | same body as Flask |",
                "|---|---|---:|---:|---:|---:|---:|---:|---:|---|"]
        g, s, b = by.get("gthread"), by.get("sync"), by.get("bare")

        def res(r, key, close):
            return r.results.get((key, close)) if r else None

        for ep in endpoints:
            for close in (False, True):
                fw = res(f, ep.key, close)
                if fw is None:
                    continue
                gw, sw, bw = (res(x, ep.key, close) for x in (g, s, b))
                same = "–"
                if g and ep.key in g.bodies:
                    same = "yes" if g.bodies[ep.key] == f.bodies.get(ep.key) else "**no**"
                out.append(
                    f"| {ep.label} | {'close' if close else 'keep-alive'} "
                    f"| {ratio(fw.rps, gw.rps if gw else 0)} "
                    f"| {ratio(fw.rps, sw.rps if sw else 0)} "
                    f"| {ratio(fw.rps, bw.rps if bw else 0, pct=True)} "
                    f"| {ratio(gw.p99_ms if gw else 0, fw.p99_ms)} "
                    f"| {ratio(sw.p99_ms if sw else 0, fw.p99_ms)} "
                    f"| {ratio(gw.peak_rss_kb if gw else 0, fw.peak_rss_kb)} "
                    f"| {ratio(sw.peak_rss_kb if sw else 0, fw.peak_rss_kb)} | {same} |")
        out.append("")
        out += targets(f, by.get("gthread"), by.get("bare"), endpoints)
    return "\n".join(out) + "\n"


def targets(f: ServerRun, g: ServerRun | None, b: ServerRun | None,
            endpoints: list[Endpoint]) -> list[str]:
    out = ["## Issue 7 targets", "", "| target | measured | met |", "|---|---|---|"]

    def mark(ok: bool) -> str:
        return "yes" if ok else "**no**"

    for ep in endpoints:
        for close in (False, True):
            fw = f.results.get((ep.key, close))
            gw = g.results.get((ep.key, close)) if g else None
            mode = "close" if close else "keep-alive"
            if ep.key in f.missing:
                out.append(f"| {ep.label} ({mode}): ≥ 10× gthread req/s "
                           f"| missing in flaskrs ({f.missing[ep.key]}) | – |")
            elif fw and gw and gw.rps:
                x = fw.rps / gw.rps
                out.append(f"| {ep.label} ({mode}): ≥ 10× gthread req/s | {x:.1f}× | "
                           f"{mark(x >= 10)} |")
    for close in (False, True):
        fw = f.results.get(("hello", close))
        bw = b.results.get(("hello", close)) if b else None
        if fw and bw and bw.rps:
            x = fw.rps / bw.rps
            out.append(f"| hello ({'close' if close else 'keep-alive'}): ≥ 60% of bare "
                       f"tiny_http | {100 * x:.0f}% | {mark(x >= 0.6)} |")
    peak = max([w.peak_rss_kb for w in f.results.values()] + [f.final_hwm_kb])
    out.append(f"| peak RSS under load ≤ 30 MB | {mb(peak)} MB | {mark(peak <= 30 * 1024)} |")
    out.append(f"| first request ≤ 100 ms after start | {f.first_ms:.0f} ms "
               f"| {mark(f.first_ms <= 100)} |")
    out.append("")
    return out


def main() -> int:
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    atexit.register(cleanup)
    wanted_servers = os.environ.get("BENCH_SERVERS", "flaskrs,gthread,sync,bare,alt").split(",")
    wanted_eps = os.environ.get("BENCH_ENDPOINTS", ",".join(e.key for e in ENDPOINTS)).split(",")
    specs = [s for s in server_specs() if s.key in wanted_servers]
    endpoints = [e for e in ENDPOINTS if e.key in wanted_eps]
    runs = []
    try:
        with tempfile.TemporaryDirectory(prefix="flaskrs-bench-") as tmp:
            runs = bench_all(specs, endpoints, Path(tmp))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        cleanup()
    text = report(runs, endpoints)
    dest = Path(os.environ.get("BENCH_OUT", BENCH / "results" / "latest.md"))
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(text)
    print(text)
    print(f"(written to {dest})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
