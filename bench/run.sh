#!/usr/bin/env bash
# One command for issue 7's side-by-side benchmark:
#   bench/run.sh
# installs what is missing (wrk from Debian packages, Flask and gunicorn from
# PyPI), builds flaskrs-host and the bare tiny_http example in release mode,
# then runs flaskrs-host, Flask on gunicorn (gthread 2×4, sync 2) and the bare
# tiny_http server one after the other on 127.0.0.1 and prints a markdown
# report (also written to bench/results/latest.md). Settings: see
# bench/README.md (BENCH_DURATION, BENCH_CONNECTIONS, ...).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
cd "$root"

python="${PYTHON:-python3}"

if ! command -v wrk >/dev/null 2>&1; then
    echo "== installing wrk (Debian package)" >&2
    sudo_cmd=()
    if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq wrk >/dev/null
fi

if ! "$python" -c "import flask, gunicorn" >/dev/null 2>&1; then
    echo "== installing Flask and gunicorn (PyPI)" >&2
    "$python" -m pip install --quiet "flask>=3.1,<3.2" "gunicorn>=23"
fi

echo "== building flaskrs-host and examples/bare_tiny_http (release)" >&2
cargo build --release --quiet --bin flaskrs-host --example bare_tiny_http

# Wherever cargo put them (CARGO_TARGET_DIR, .cargo/config, or target/).
CARGO_TARGET_DIR="$(cargo metadata --format-version 1 --no-deps |
    "$python" -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
export CARGO_TARGET_DIR
exec "$python" "$here/driver.py"
