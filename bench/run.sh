#!/usr/bin/env bash
# The socketio_views benchmark, in one command (from the repository root):
#
#   bash bench/run.sh            # full run: 3 runs of every workload (long)
#   bash bench/run.sh --quick    # 1 run, N=100, K=1,000, short steps (< 5 minutes)
#   bash bench/run.sh --soak     # the soak: 1,000 clients, 10 minutes of mixed traffic
#
# Any other option goes to bench/bench.py, or after --soak to bench/soak.py
# (see bench/README.md). Needs the
# project venv (.venv, from `make install`), Node.js/npm, taskset and a Redis
# at 127.0.0.1:6379 (BENCH_REDIS_URL). Creates bench/.venv-channels (PyPI)
# and bench/node/node_modules (`npm ci`) when missing or stale.
# Benchmarks print ratios; they are not timed tests and never fail CI.
set -euo pipefail

SOAK=""
if [ "${1:-}" = "--soak" ]; then
    SOAK=1
    shift
fi

BENCH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(dirname "$BENCH")"
MAIN_PY="${BENCH_PYTHON:-$REPO/.venv/bin/python}"
VENV="$BENCH/.venv-channels"
WORK="$BENCH/.work"
PIDFILE="$WORK/pids"

if [ ! -x "$MAIN_PY" ]; then
    echo "bench: no project venv at $MAIN_PY; run 'make install' first (or set BENCH_PYTHON)" >&2
    exit 1
fi
for tool in taskset node npm; do
    command -v "$tool" >/dev/null || { echo "bench: '$tool' is required" >&2; exit 1; }
done

# Up to 10,000 sockets per process, plus the server's files.
hard="$(ulimit -Hn)"
if [ "$hard" = unlimited ]; then ulimit -n 65536; else ulimit -n "$hard"; fi
if [ "$(ulimit -n)" -lt 12000 ]; then
    echo "bench: warning: ulimit -n is $(ulimit -n); the 10,000-connection run needs about 10,100" >&2
fi

# The bench venv: Django Channels, daphne, channels_redis, matplotlib (exact pins).
# The soak does not need it.
if [ -z "$SOAK" ] && { ! "$VENV/bin/python" -c "import channels, daphne, channels_redis, matplotlib" 2>/dev/null \
    || ! cmp -s "$BENCH/requirements-channels.txt" "$VENV/.requirements"; }; then
    echo "bench: creating $VENV from bench/requirements-channels.txt"
    base="$("$MAIN_PY" -c 'import sys; print(getattr(sys, "_base_executable", sys.executable))')"
    rm -rf "$VENV"
    "$base" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$BENCH/requirements-channels.txt"
    cp "$BENCH/requirements-channels.txt" "$VENV/.requirements"
fi

# node_modules: socket.io, socket.io-client, ws, the redis adapter (package-lock.json).
if ! (cd "$BENCH/node" && node -e '
    const deps = require("./package.json").dependencies;
    for (const [name, want] of Object.entries(deps)) {
        if (require(`${name}/package.json`).version !== want) process.exit(1);
    }' 2>/dev/null); then
    echo "bench: installing bench/node/node_modules (npm ci)"
    (cd "$BENCH/node" && npm ci --no-audit --no-fund)
fi

mkdir -p "$WORK"

# Stop what bench.py started if it could not: process groups listed in
# .work/pids ("pgid starttime"; the start time guards against reused pids).
kill_listed() {
    [ -f "$PIDFILE" ] || return 0
    local sig pgid start stat rest
    for sig in TERM KILL; do
        while read -r pgid start; do
            [ -n "$pgid" ] && [ -r "/proc/$pgid/stat" ] || continue
            stat="$(cat "/proc/$pgid/stat" 2>/dev/null)" || continue
            rest="${stat##*) }"
            set -- $rest
            [ "${20:-}" = "$start" ] || continue
            kill "-$sig" -- "-$pgid" 2>/dev/null || true
        done < "$PIDFILE"
        [ "$sig" = TERM ] && sleep 2
    done
    rm -f "$PIDFILE"
}

BENCH_PID=""
cleanup() {
    trap - EXIT INT TERM HUP
    if [ -n "$BENCH_PID" ] && kill -0 "$BENCH_PID" 2>/dev/null; then
        kill -TERM "$BENCH_PID" 2>/dev/null || true
        for _ in $(seq 1 100); do kill -0 "$BENCH_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$BENCH_PID" 2>/dev/null || true
    fi
    kill_listed
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

kill_listed  # leftovers of an interrupted run
if [ -n "$SOAK" ]; then
    "$MAIN_PY" "$BENCH/soak.py" "$@" &
else
    "$MAIN_PY" "$BENCH/bench.py" "$@" &
fi
BENCH_PID=$!
wait "$BENCH_PID"
