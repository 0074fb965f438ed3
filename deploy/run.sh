#!/usr/bin/env bash
# The production topology on one machine (issue 5), started, shown and
# checked:
#
#   client ──▶ nginx 127.0.0.1:PORT ──▶ flaskrs-host ×N on 127.0.0.1 (same SECRET_KEY)
#
#   deploy/run.sh                  # 2 instances
#   DEPLOY_INSTANCES=3 deploy/run.sh
#
# 1. builds a release flaskrs-host (or uses $FLASKRS_HOST), installs nginx,
#    wrk and curl with apt-get if they are missing;
# 2. copies deploy/app/ to a temporary directory, writes its secret.rhai with
#    a fresh random SECRET_KEY, starts the instances and nginx (config from
#    deploy/nginx.conf.template, run as the current user, not as a service);
# 3. logs in through nginx, then reads the session on every instance;
# 4. checks ProxyFix: the client address, the host and url_for(_external)
#    the app sees are the client's, and a forged X-Forwarded-For is ignored;
# 5. restarts the instances one at a time (SIGTERM, which must exit 0 after
#    finishing in-flight requests; start; wait for /healthz) while wrk sends
#    load through nginx, and requires zero failed requests.
#
# Exit status 0 when every check passed. Only 127.0.0.1 (and 127.0.0.2 as a
# second client address) is used. Every process started here is killed on
# exit by its PID, and nothing else is.
#
# Environment: DEPLOY_INSTANCES (2), DEPLOY_LOAD_CONNECTIONS (32),
# FLASKRS_HOST (a flaskrs-host binary), DEPLOY_KEEP (1: keep the temporary
# directory with the logs).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
INSTANCES=${DEPLOY_INSTANCES:-2}
LOAD_CONNECTIONS=${DEPLOY_LOAD_CONNECTIONS:-32}
if ! [[ $INSTANCES =~ ^[0-9]+$ ]] || ((INSTANCES < 2 || INSTANCES > 16)); then
    echo "deploy: DEPLOY_INSTANCES must be 2 to 16" >&2
    exit 2
fi
if ! [[ $LOAD_CONNECTIONS =~ ^[0-9]+$ ]] || ((LOAD_CONNECTIONS < 1 || LOAD_CONNECTIONS > 1024)); then
    echo "deploy: DEPLOY_LOAD_CONNECTIONS must be 1 to 1024" >&2
    exit 2
fi

log() { printf '[deploy %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
FAILED=0
check() { # description, then a command that must succeed
    local what=$1
    shift
    if "$@"; then
        printf '  ok    %s\n' "$what"
    else
        printf '  FAIL  %s\n' "$what"
        FAILED=1
    fi
}

# --- what the script needs ---------------------------------------------------
NGINX=$(command -v nginx || true)
[[ -z $NGINX && -x /usr/sbin/nginx ]] && NGINX=/usr/sbin/nginx
need_pkgs=()
[[ -n $NGINX ]] || need_pkgs+=(nginx)
command -v wrk >/dev/null || need_pkgs+=(wrk)
command -v curl >/dev/null || need_pkgs+=(curl)
command -v python3 >/dev/null || need_pkgs+=(python3)
if ((${#need_pkgs[@]})); then
    log "installing ${need_pkgs[*]} (apt-get)"
    SUDO=""
    [[ $(id -u) == 0 ]] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
    NGINX=$(command -v nginx || echo /usr/sbin/nginx)
fi

if [[ -n ${FLASKRS_HOST:-} ]]; then
    BIN=$FLASKRS_HOST
else
    log "building the release flaskrs-host"
    (cd "$ROOT" && cargo build --release --quiet --bin flaskrs-host)
    BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release/flaskrs-host
fi
[[ -x $BIN ]] || { echo "deploy: no flaskrs-host binary at $BIN" >&2; exit 2; }

# --- processes we start, and only those, are stopped on exit -----------------
TMP=$(mktemp -d "${TMPDIR:-/tmp}/flaskrs-deploy.XXXXXX")
PIDS=()
forget() { # a child that was waited for: its PID may be reused, never signal it
    local p keep=()
    for p in "${PIDS[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
    PIDS=("${keep[@]}")
}
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    if [[ ${DEPLOY_KEEP:-0} == 1 ]]; then log "logs kept in $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_ports() { # n
    python3 - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
}
read -r -a PORTS <<<"$(free_ports $((INSTANCES + 1)))"
NGINX_PORT=${PORTS[$INSTANCES]}
FRONT="http://127.0.0.1:$NGINX_PORT"

# --- the app, with a secret key shared by every instance ---------------------
cp -R "$ROOT/deploy/app" "$TMP/app"
(
    umask 077
    key=$(python3 -c 'import secrets; print(secrets.token_hex(32))')
    printf '// Written by deploy/run.sh: the SECRET_KEY every instance shares.\nexport const SECRET_KEY = "%s";\n' \
        "$key" >"$TMP/app/secret.rhai"
)

declare -A INSTANCE_PID
start_instance() { # index
    local i=$1
    "$BIN" "$TMP/app/app.rhai" --host 127.0.0.1 --port "${PORTS[$i]}" \
        >>"$TMP/instance-$i.log" 2>&1 &
    INSTANCE_PID[$i]=$!
    PIDS+=("$!")
}
wait_healthy() { # index; 15 s at most
    local i=$1 n
    for n in $(seq 1 150); do
        if curl -fsS --max-time 1 -o /dev/null "http://127.0.0.1:${PORTS[$i]}/healthz" 2>/dev/null; then
            return 0
        fi
        kill -0 "${INSTANCE_PID[$i]}" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

for ((i = 0; i < INSTANCES; i++)); do start_instance "$i"; done
for ((i = 0; i < INSTANCES; i++)); do
    wait_healthy "$i" || { cat "$TMP/instance-$i.log" >&2; echo "deploy: instance $i did not start" >&2; exit 1; }
    log "instance $i: flaskrs-host pid ${INSTANCE_PID[$i]} on 127.0.0.1:${PORTS[$i]}"
done

# --- nginx ---------------------------------------------------------------------
user_line=""
# A master started as root would switch its workers to `nobody`, who cannot
# read this private prefix: keep them as the current user.
[[ $(id -u) == 0 ]] && user_line="user $(id -un) $(id -gn);"
upstreams=""
for ((i = 0; i < INSTANCES; i++)); do
    upstreams+="        server 127.0.0.1:${PORTS[$i]} max_fails=1 fail_timeout=2s;"$'\n'
done
mkdir -p "$TMP/nginx"
python3 - "$ROOT/deploy/nginx.conf.template" "$TMP/nginx/nginx.conf" "$TMP/nginx" \
    "$NGINX_PORT" "$user_line" "$upstreams" <<'EOF'
import sys
src, dst, prefix, port, user_line, upstreams = sys.argv[1:]
text = open(src).read()
for k, v in {"@PREFIX@": prefix, "@PORT@": port, "@USER_LINE@": user_line,
             "@UPSTREAM_SERVERS@": upstreams.rstrip("\n")}.items():
    text = text.replace(k, v)
open(dst, "w").write(text)
EOF
NGINX_ARGS=(-p "$TMP/nginx" -e "$TMP/nginx/error.log" -c "$TMP/nginx/nginx.conf")
"$NGINX" "${NGINX_ARGS[@]}" -t -q || { cat "$TMP/nginx/error.log" >&2; exit 1; }
"$NGINX" "${NGINX_ARGS[@]}" -g 'daemon off;' &
NGINX_PID=$!
PIDS+=("$NGINX_PID")
for _ in $(seq 1 100); do
    curl -fsS --max-time 1 -o /dev/null "$FRONT/healthz" 2>/dev/null && break
    sleep 0.1
done
log "nginx $("$NGINX" -v 2>&1 | sed 's/.*version: //') pid $NGINX_PID on $FRONT -> ${INSTANCES} instances"

# --- 1. a session made on one instance is read on the others -----------------
echo
log "sessions live in the signed cookie: log in through nginx, read the session on every instance"
JAR=$TMP/cookies.txt
login_headers=$(curl -sS -c "$JAR" -D - -o /dev/null -X POST -d username=ann "$FRONT/login")
served_by=$(awk 'tolower($1) == "x-served-by:" {print $2}' <<<"$login_headers" | tr -d '\r')
status=$(head -n1 <<<"$login_headers" | tr -d '\r')
echo "  POST $FRONT/login username=ann -> $status, served by $served_by"
echo "  session cookie: $(grep -o 'session[[:space:]].*' "$JAR" | awk '{print substr($2, 1, 40)}')..."
check "the login answered 302 and set the session cookie" grep -q 'session' "$JAR"
for ((i = 0; i < INSTANCES; i++)); do
    direct="http://127.0.0.1:${PORTS[$i]}"
    body=$(curl -sS -b "$JAR" "$direct/whoami")
    tag=""
    [[ 127.0.0.1:${PORTS[$i]} == "$served_by" ]] && tag=" (the instance that made it)"
    echo "  GET $direct/whoami -> $body$tag"
    check "instance $i reads user ann from the cookie" grep -q '"user":"ann"' <<<"$body"
done
counts=""
for _ in $(seq 1 $((2 * INSTANCES))); do
    out=$(curl -sS -b "$JAR" -c "$JAR" -D - "$FRONT/counter" | tr -d '\r')
    by=$(awk 'tolower($1) == "x-served-by:" {print $2}' <<<"$out")
    n=$(tail -n1 <<<"$out")
    counts+="$n "
    echo "  GET $FRONT/counter -> $n, served by $by"
done
check "the session counter goes on from instance to instance (1 2 3 ...)" \
    test "$counts" = "$(seq -s ' ' 1 $((2 * INSTANCES))) "

# --- 2. ProxyFix: what the app sees behind nginx -----------------------------
echo
log "ProxyFix (x_for=1, x_proto=1, x_host=1): a client on 127.0.0.2 asking for www.example.test, with a forged X-Forwarded-For"
body=$(curl -sS --interface 127.0.0.2 -H 'Host: www.example.test' \
    -H 'X-Forwarded-For: 203.0.113.66' "$FRONT/whoami")
echo "  through nginx: $body"
check "remote_addr is the client's (127.0.0.2), not nginx's or the forged one" \
    grep -q '"remote_addr":"127.0.0.2"' <<<"$body"
check "url_for(\"whoami\", #{_external: true}) uses the client's host" \
    grep -q '"external":"http://www.example.test/whoami"' <<<"$body"
check "the scheme is nginx's (http here; https behind a TLS listener)" \
    grep -q '"scheme":"http"' <<<"$body"
body=$(curl -sS "$FRONT/whoami")
echo "  through nginx, plain: $body"
check "url_for(_external) names nginx's address, not an instance's" \
    grep -q "\"external\":\"http://127.0.0.1:$NGINX_PORT/whoami\"" <<<"$body"

# --- 3. rolling restart under load ------------------------------------------
echo
LOAD_SECONDS=$((8 + 6 * INSTANCES))
log "rolling restart of ${INSTANCES} instances while wrk sends ${LOAD_CONNECTIONS} connections through nginx for ${LOAD_SECONDS}s"
wrk -t2 -c"$LOAD_CONNECTIONS" -d"${LOAD_SECONDS}s" --timeout 10s -s "$ROOT/deploy/load.lua" \
    "$FRONT" >"$TMP/wrk.out" 2>&1 &
WRK_PID=$!
PIDS+=("$WRK_PID")
sleep 3
for ((i = 0; i < INSTANCES; i++)); do
    pid=${INSTANCE_PID[$i]}
    t0=$(date +%s.%N)
    kill -TERM "$pid"
    code=0
    wait "$pid" || code=$?
    forget "$pid"
    t1=$(date +%s.%N)
    check "instance $i (pid $pid) exited $code after SIGTERM (0 expected), in $(awk -v a="$t1" -v b="$t0" 'BEGIN {printf "%.2f", a - b}') s" \
        test "$code" = 0
    start_instance "$i"
    if wait_healthy "$i"; then
        t2=$(date +%s.%N)
        echo "        instance $i back as pid ${INSTANCE_PID[$i]}, healthy after $(awk -v a="$t2" -v b="$t1" 'BEGIN {printf "%.2f", a - b}') s"
    else
        check "instance $i healthy again" false
    fi
    # nginx keeps a failed server out for fail_timeout; give it time to
    # take the instance back before the next one goes down.
    sleep 2.5
done
wait "$WRK_PID" || true
forget "$WRK_PID"
load=$(grep '^LOAD ' "$TMP/wrk.out" || true)
echo "  $load"
if [[ -z $load ]]; then
    cat "$TMP/wrk.out"
    check "wrk reported" false
else
    declare -A L
    for kv in ${load#LOAD }; do L[${kv%%=*}]=${kv#*=}; done
    failed=$((L[non2xx3xx] + L[connect_errors] + L[read_errors] + L[write_errors] + L[timeouts]))
    check "${L[requests]} requests through nginx during the restarts, $failed failed" test "$failed" = 0
fi
retried=$(grep -c 'upstream=[^ ]*, ' "$TMP/nginx/access.log" || true)
echo "  nginx passed $retried requests on to another instance (proxy_next_upstream)"
refused=$(grep -c 'connect() failed (111' "$TMP/nginx/error.log" || true)
closed=$(grep -c 'upstream prematurely closed' "$TMP/nginx/error.log" || true)
echo "  of which: $refused connections refused by a stopping instance," \
    "$closed requests closed unanswered by one (see README.md, \"Rolling restarts\")"
for ((i = 0; i < INSTANCES; i++)); do
    n=$(grep -c "upstream=127.0.0.1:${PORTS[$i]} " "$TMP/nginx/access.log" || true)
    echo "  instance $i (127.0.0.1:${PORTS[$i]}) answered $n requests"
done
# 499 is nginx's note that the client hung up: wrk closing its connections
# when its time is up. Anything else 4xx/5xx is a failure.
gone=$(grep -c '" 499 upstream=' "$TMP/nginx/access.log" || true)
bad=$(grep -E '" (5[0-9][0-9]|4[0-8][0-9]|49[0-8]) upstream=' "$TMP/nginx/access.log" | head -n 5 || true)
check "no 4xx/5xx in nginx's access log ($gone x 499: wrk hanging up at its end)" test -z "$bad"
[[ -z $bad ]] || echo "$bad"

echo
if ((FAILED)); then
    log "SOME CHECKS FAILED (logs: $TMP; DEPLOY_KEEP=1 keeps them)"
    DEPLOY_KEEP=1
    exit 1
fi
log "all checks passed"
