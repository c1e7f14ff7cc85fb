"""The drain bench: how fast process B takes over A's clients, with and without a drain window.

    python bench/drain.py [--clients 2000] [--window 10] [--runs 1]

Two runserver_socketio processes of the bench project, A and B, share Redis;
``tests/node/drain_clients.js`` (official socket.io-client connections
behind a small load balancer with a health check, in one Node process)
connects ``--clients`` to A on a channel with history, has a publisher on B
broadcast 20 messages a second, and sends SIGTERM to A. Once with
``DRAIN_WINDOW`` 0 (every transport closed at once, as a process that stops
without the drain drops them), once with ``--window``. Prints, for each: the
peak rate of new connections (attempts routed by the balancer) on B per second, when the last client was
back, and what was missing or duplicated. Not a test: it asserts nothing.
Run it on a quiet machine (servers on core 0, clients on core 1).
"""
import argparse
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import bench  # noqa: E402

CLIENTS_JS = BENCH.parent / "tests" / "node" / "drain_clients.js"


def start_pair(window, redis):
    prefix = f"bench-drain-{uuid.uuid4().hex[:8]}"
    procs, ports = [], []
    for name in ("A", "B"):
        port = bench.free_port()
        cmd, cwd, env = bench.server_command("socketio_views", port, redis=redis, redis_prefix=prefix)
        env["BENCH_HISTORY"] = "1000"
        # This checkout's socketio_views, whatever the virtualenv has installed.
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(BENCH.parent), os.environ.get("PYTHONPATH")]))
        env["BENCH_SOCKETIO_VIEWS"] = json.dumps({"DRAIN_WINDOW": window, "DRAIN_NOTICE": 1})
        proc = bench.PROCS.spawn(cmd, core=bench.SERVER_CORE, cwd=cwd, env=env, log_path=bench.LOGS / f"drain-{name}.log")
        if not bench.wait_port(port, proc):
            raise RuntimeError(f"server {name} did not start; see {bench.LOGS}/drain-{name}.log")
        procs.append(proc)
        ports.append(port)
    return procs, ports


def run_once(clients, window, redis):
    procs, ports = start_pair(window, redis)
    try:
        config = {
            "a": f"http://127.0.0.1:{ports[0]}",
            "b": f"http://127.0.0.1:{ports[1]}",
            "a_pid": procs[0].pid,
            "namespace": f"/rooms/drain-{uuid.uuid4().hex[:6]}",
            "clients": clients,
            "window_s": window,
            "deadline_s": 120 + clients / 50 + window,
            "auth": {"name": "drain"},
            "payload": {"text": "hi"},
        }
        node_path = os.environ.get("NODE_PATH") or str(BENCH.parent / "node_modules")
        started = time.monotonic()
        run = subprocess.run(
            ["taskset", "-c", bench.LOADGEN_CORE, bench.NODE, str(CLIENTS_JS), json.dumps(config)],
            env={**os.environ, "NODE_PATH": node_path},
            capture_output=True,
            text=True,
            timeout=config["deadline_s"] + 30,
        )
        result = json.loads(run.stdout.strip().splitlines()[-1]) if run.stdout.strip() else {"error": run.stderr[-500:]}
        result.pop("duplicate_sample", None)
        result["wall_s"] = round(time.monotonic() - started, 1)
        return result
    finally:
        for proc in procs:
            bench.PROCS.kill(proc)


def _round(value):
    return round(value, 2) if isinstance(value, float) else value


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=2000)
    parser.add_argument("--window", type=float, default=10)
    parser.add_argument("--runs", type=int, default=1)
    opts = parser.parse_args(argv)
    bench.install_cleanup()
    bench.LOGS.mkdir(parents=True, exist_ok=True)
    rows = []
    for run in range(opts.runs):
        for window in (0, opts.window):
            result = run_once(opts.clients, window, bench.REDIS_URL)
            rows.append((window, result))
            print(f"run {run + 1} DRAIN_WINDOW={window:g}: {json.dumps(result)}", flush=True)
    print()
    print(f"{'DRAIN_WINDOW':>12}  {'peak new conns/s on B':>22}  {'all back (s)':>12}  {'missing':>7}  {'dups':>5}  {'refused':>7}")
    for window, r in rows:
        refused = (r.get("connect_errors") or 0) + (r.get("engine_errors") or 0)
        print(
            f"{window:>12g}  {r.get('peak_b_per_s', '-')!s:>22}  {_round(r.get('all_back_s'))!s:>12}  "
            f"{r.get('missing', '-')!s:>7}  {r.get('duplicates', '-')!s:>5}  {refused:>7}"
            + (f"  error: {r['error']}" if "error" in r else "")
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
