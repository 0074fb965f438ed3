#!/usr/bin/env bash
# Load and soak test for flaskrs-host (issue 5). Not a test of the suite: a
# script that takes minutes and prints a report.
#
#   bench/soak.sh                      # 5 minutes per phase, as the issue asks
#   SOAK_SECONDS=60 bench/soak.sh      # a shorter run
#
# A release flaskrs-host serves bench/soak/app.rhai on 127.0.0.1 (every kind
# of endpoint: hello, a variable route, a template page, a session counter, a
# form POST, JSON, a static file, an upload). wrk with bench/soak/mix.lua
# drives SOAK_CONNECTIONS keep-alive connections through all of them:
#
#   warmup     SOAK_WARMUP seconds, not measured for memory
#   load       SOAK_SECONDS at SOAK_CONNECTIONS connections
#   load+slow  the same while SOAK_SLOW_CLIENTS slow clients
#              (bench/soak/slow_clients.py) hold connections and trickle bytes
#
# The host's RSS, thread count and open descriptors are read from /proc every
# second. The verdict (exit status 0 or 1) needs zero failed requests (non-2xx/3xx
# answers and socket errors alike), RSS in the last window of each phase
# within SOAK_RSS_GROWTH_PCT of the first (window: 60 s, or a quarter of a
# phase shorter than 4 minutes), and the most threads in the last window
# within SOAK_THREAD_GROWTH_PCT of the most in the first (the host's threads
# come from pools that grow to the peak load and are reused). Finally SIGTERM
# must make the host exit 0.
#
# Environment: SOAK_SECONDS (300), SOAK_WARMUP (10), SOAK_CONNECTIONS (256),
# SOAK_WRK_THREADS (2), SOAK_SLOW_CLIENTS (300), SOAK_SLOW_MODE (head: trickled
# request heads; body: trickled POST bodies; mixed), SOAK_RSS_GROWTH_PCT (10),
# SOAK_THREAD_GROWTH_PCT (5),
# FLASKRS_HOST (a flaskrs-host binary to use instead of building one),
# SOAK_KEEP (1: keep the work directory with the raw samples).
#
# Only 127.0.0.1 is ever contacted. Every process the script starts is
# recorded and killed on exit by its PID; nothing else is touched.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SOAK_SECONDS=${SOAK_SECONDS:-300}
SOAK_WARMUP=${SOAK_WARMUP:-10}
SOAK_CONNECTIONS=${SOAK_CONNECTIONS:-256}
SOAK_WRK_THREADS=${SOAK_WRK_THREADS:-2}
SOAK_SLOW_CLIENTS=${SOAK_SLOW_CLIENTS:-300}
SOAK_SLOW_MODE=${SOAK_SLOW_MODE:-head}
SOAK_RSS_GROWTH_PCT=${SOAK_RSS_GROWTH_PCT:-10}
SOAK_THREAD_GROWTH_PCT=${SOAK_THREAD_GROWTH_PCT:-5}

for v in SOAK_SECONDS SOAK_WARMUP SOAK_CONNECTIONS SOAK_WRK_THREADS SOAK_SLOW_CLIENTS; do
    [[ ${!v} =~ ^[0-9]+$ ]] || { echo "soak: $v must be a whole number" >&2; exit 2; }
done
# Bounded: at most an hour per phase.
if (( SOAK_SECONDS < 10 || SOAK_SECONDS > 3600 )); then
    echo "soak: SOAK_SECONDS must be between 10 and 3600" >&2
    exit 2
fi

log() { printf '[soak %s] %s\n' "$(date +%H:%M:%S)" "$*"; }

# --- what the script needs ---------------------------------------------------
need_pkgs=()
command -v wrk >/dev/null || need_pkgs+=(wrk)
command -v python3 >/dev/null || need_pkgs+=(python3)
command -v curl >/dev/null || need_pkgs+=(curl)
if ((${#need_pkgs[@]})); then
    log "installing ${need_pkgs[*]} (apt-get)"
    SUDO=""
    [[ $(id -u) == 0 ]] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
fi

if [[ -n ${FLASKRS_HOST:-} ]]; then
    BIN=$FLASKRS_HOST
else
    log "building the release flaskrs-host"
    (cd "$ROOT" && cargo build --release --quiet --bin flaskrs-host)
    BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release/flaskrs-host
fi
[[ -x $BIN ]] || { echo "soak: no flaskrs-host binary at $BIN" >&2; exit 2; }

# Four descriptors per busy connection (SECURITY.md): make room for the
# load plus the slow clients, within the hard limit.
hard=$(ulimit -Hn)
if [[ $hard == unlimited ]] || ((hard > 65536)); then hard=65536; fi
ulimit -Sn "$hard" || true

# --- processes we start, and only those, are stopped on exit -----------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/flaskrs-soak.XXXXXX")
PIDS=()
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    if [[ ${SOAK_KEEP:-0} == 1 ]]; then
        log "raw data kept in $WORK"
    else
        rm -rf "$WORK"
    fi
}
# A child that has been waited for is forgotten, so its PID (which the
# system may give to another process) is never signalled.
forget() {
    local p keep=()
    for p in "${PIDS[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
    PIDS=("${keep[@]}")
}
trap cleanup EXIT
trap 'exit 130' INT TERM

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
URL="http://127.0.0.1:$PORT"

# The access log is one line per request; keep only what is not a 2xx/3xx
# access line (errors, warnings, startup), so a long run does not fill the disk.
mkfifo "$WORK/log.fifo"
grep --line-buffered -v -E '" [23][0-9]{2} [0-9-]+$' <"$WORK/log.fifo" >"$WORK/host.log" &
GREP_PID=$!
PIDS+=("$GREP_PID")
"$BIN" "$ROOT/bench/soak/app.rhai" --host 127.0.0.1 --port "$PORT" >"$WORK/log.fifo" 2>&1 &
HOST_PID=$!
PIDS+=("$HOST_PID")

for _ in $(seq 1 100); do
    curl -fsS -o /dev/null "$URL/" 2>/dev/null && break
    kill -0 "$HOST_PID" 2>/dev/null || { cat "$WORK/host.log" >&2; echo "soak: the host died at start" >&2; exit 1; }
    sleep 0.1
done
curl -fsS -o /dev/null "$URL/" || { echo "soak: the host does not answer on $URL" >&2; exit 1; }
log "flaskrs-host pid $HOST_PID on $URL ($(nproc) cores, ulimit -n $(ulimit -n))"

# --- sampling /proc every second ----------------------------------------------
echo warmup >"$WORK/phase"
START=$(date +%s.%N)
sampler() {
    local phase rss threads fds now
    while kill -0 "$HOST_PID" 2>/dev/null; do
        phase=$(<"$WORK/phase")
        rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$HOST_PID/status" 2>/dev/null || echo 0)
        threads=$(awk '/^Threads:/ {print $2}' "/proc/$HOST_PID/status" 2>/dev/null || echo 0)
        fds=$(find "/proc/$HOST_PID/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
        now=$(date +%s.%N)
        printf '%s\t%s\t%s\t%s\t%s\n' "$(awk -v a="$now" -v b="$START" 'BEGIN {printf "%.1f", a - b}')" \
            "$phase" "${rss:-0}" "${threads:-0}" "$fds" >>"$WORK/samples.tsv"
        sleep 1
    done
}
sampler &
SAMPLER_PID=$!
PIDS+=("$SAMPLER_PID")

run_wrk() { # phase seconds
    echo "$1" >"$WORK/phase"
    wrk -t"$SOAK_WRK_THREADS" -c"$SOAK_CONNECTIONS" -d"${2}s" --timeout 10s \
        -s "$ROOT/bench/soak/mix.lua" "$URL" >"$WORK/$1.wrk" 2>&1 &
    local pid=$!
    PIDS+=("$pid")
    wait "$pid" || true
    forget "$pid"
    grep '^SOAK ' "$WORK/$1.wrk" || { cat "$WORK/$1.wrk"; echo "soak: wrk failed" >&2; }
}

log "warm-up: ${SOAK_WARMUP}s at $SOAK_CONNECTIONS connections"
run_wrk warmup "$SOAK_WARMUP"

log "load: ${SOAK_SECONDS}s at $SOAK_CONNECTIONS keep-alive connections, every endpoint"
run_wrk load "$SOAK_SECONDS"

log "load+slow: ${SOAK_SECONDS}s at $SOAK_CONNECTIONS connections while $SOAK_SLOW_CLIENTS slow clients ($SOAK_SLOW_MODE) trickle bytes"
echo idle >"$WORK/phase"
python3 "$ROOT/bench/soak/slow_clients.py" --port "$PORT" --clients "$SOAK_SLOW_CLIENTS" \
    --seconds "$((SOAK_SECONDS + 8))" --ramp 5 --mode "$SOAK_SLOW_MODE" >"$WORK/slow.out" 2>&1 &
SLOW_PID=$!
PIDS+=("$SLOW_PID")
sleep 6 # the slow clients connect over 5 s, before the measured load starts
run_wrk load+slow "$SOAK_SECONDS"
wait "$SLOW_PID" || true
forget "$SLOW_PID"
cat "$WORK/slow.out"

echo after >"$WORK/phase"
sleep 3

log "SIGTERM to the host: it must finish and exit 0"
kill -TERM "$HOST_PID"
status=0
wait "$HOST_PID" || status=$?
forget "$HOST_PID"
for pid in "$SAMPLER_PID" "$GREP_PID"; do # both end with the host
    wait "$pid" 2>/dev/null || true
    forget "$pid"
done
log "host exit status: $status"

if [[ -s $WORK/host.log ]]; then
    log "host log without the 2xx/3xx access lines, by kind (numbers as N):"
    sed -E 's/\[[^]]*\]//; s/[0-9]+/N/g' "$WORK/host.log" | sort | uniq -c | sort -rn | head -n 15
fi

window=60
if ((SOAK_SECONDS < 240)); then window=$((SOAK_SECONDS / 4)); fi
verdict=0
python3 "$ROOT/bench/soak/analyze.py" "$WORK" "$window" "$SOAK_RSS_GROWTH_PCT" "$SOAK_THREAD_GROWTH_PCT" || verdict=1
if ((status != 0)); then
    echo "VERDICT: FAIL (the host exited $status after SIGTERM)"
    verdict=1
fi
exit "$verdict"
