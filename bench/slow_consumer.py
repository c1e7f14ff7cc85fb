"""
What one subscriber that stops reading costs the others (not CI).

Runs the fan-out workload's fixed step (N subscribers, D deliveries/s offered,
S seconds) against the bench project's runserver_socketio twice: once as is,
once with one more subscriber that stops reading at once and keeps answering
as alive (unsolicited pongs). Reports each run's p50/p99/max latency and
losses, the server's RSS before and after, and when the stalled subscriber
was closed with ``slow_consumer`` and how long its queue had been full.

    .venv/bin/python bench/slow_consumer.py [--n 1000] [--rate 20000] [--seconds 30]
        [--max-queued-messages 300] [--name slow-consumer]

The workload's messages are small (about 100 bytes): before the server's
queue fills at all, the kernel's send buffer of the stalled socket takes up to
4 MB (net.ipv4.tcp_wmem), tens of thousands of such messages. The run lowers
``MAX_QUEUED_MESSAGES`` (300) all the same and reports whether the stalled
subscriber was closed within the run. The JSON's ``results`` section gives
the runs in bench.py's shape, which the docs' ``:bench:`` role reads
(docs/benchfigures.py).
"""
import argparse
import json
import os
import re
import socket
import sys
import threading
import time
from pathlib import Path

import websocket

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402  (the bench's process handling, server commands and load generator)

RESULTS = Path(__file__).resolve().parent / "results"


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))


class StalledSubscriber:
    """A raw Socket.IO subscriber that never reads after subscribing, but sends a pong every 0.5 s."""

    def __init__(self, target, namespace):
        self.ws = websocket.create_connection(
            target.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket",
            timeout=10,
            sockopt=[(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)],
        )
        self.sid = json.loads(self.ws.recv()[1:])["sid"]
        self.ws.send(f'40{namespace},{{"name": "stalled"}}')
        frames = [self.ws.recv() for _ in range(1)]
        while not frames[-1].startswith(("40/", "44/")) and len(frames) < 10:
            frames.append(self.ws.recv())
        if not frames[-1].startswith(f"40{namespace},"):
            raise RuntimeError(f"the stalled subscriber could not subscribe: {frames}")
        self.running = True
        self.thread = threading.Thread(target=self._pong, daemon=True)
        self.thread.start()

    def _pong(self):
        while self.running:
            try:
                self.ws.send("3")
            except Exception:
                return
            time.sleep(0.5)

    def close(self):
        self.running = False
        try:
            self.ws.shutdown()
        except Exception:
            pass


def run(opts, stalled):
    tag = f"slow-{'with' if stalled else 'without'}"
    os.environ["BENCH_SOCKETIO_VIEWS"] = json.dumps({"MAX_QUEUED_MESSAGES": opts.max_queued_messages})
    server = bench.start_server("socketio_views", tag)
    subscriber = None
    try:
        pid = server.pids[0]
        if stalled:
            subscriber = StalledSubscriber(server.targets[0], "/rooms/bench")
        rss_before = rss_kb(pid)
        started = time.time()
        config = bench.base_config(server, opts, opts.seconds * 3 + 120)
        config.update(
            workload="fanout", n=opts.n, step_s=opts.seconds, max_step_s=opts.seconds, min_publishes=5,
            drain_s=10, quiet_s=5, bisect=0,
            # Only the warm-up (at 2,000/s) and one step at the offered rate: no search
            # (its first rate is above max_deliveries).
            moderate_deliveries=opts.rate, start_deliveries=2000, max_deliveries=1000, min_deliveries=1,
            max_down_steps=0, fixed_deliveries=0, rerun_latency_failures=False,
        )
        result = bench.run_loadgen(config, tag)
        rss_after = rss_kb(pid)
        log = (bench.LOGS / f"{tag}-0.log").read_text()
    finally:
        if subscriber is not None:
            subscriber.close()
        server.stop()
    step = result.get("moderate") or {}
    closed = None
    if subscriber is not None:
        match = re.search(rf"Closing connection {subscriber.sid}: slow consumer \((.*?)\)", log)
        closed = match.group(1) if match else None
    return {
        "stalled_subscriber": stalled,
        "p50_ms": step.get("p50_ms"), "p99_ms": step.get("p99_ms"), "max_ms": step.get("max_ms"),
        "delivered_per_s": step.get("delivered_per_s"), "lost": step.get("lost"), "duplicates": step.get("duplicates"),
        "server_cpu_pct": step.get("server_cpu_pct"),
        "rss_before_mb": round(rss_before / 1024, 1), "rss_after_mb": round(rss_after / 1024, 1),
        "slow_consumer_closed": closed,
        "error": result.get("error"),
        "wall_s": round(time.time() - started, 1),
    }


def results(n, runs):
    """The runs in bench.py's shape, for the docs' ``:bench:`` role.

    ``{"slow-consumer": {"without-stalled": {"N=<n>": [run]}, "with-stalled": {...}}}``:
    each run as it is reported, under the row it belongs to, so that the role's
    ``with-stalled/without-stalled`` ratio is the p99 ratio of the report.
    """
    rows = {}
    for run in runs:
        row = "with-stalled" if run["stalled_subscriber"] else "without-stalled"
        rows.setdefault(row, {}).setdefault(f"N={n}", []).append(run)
    return {"slow-consumer": rows}


def add_results(path):
    """Add the ``results`` section to a report written before the bench wrote one; the rest is kept as it is."""
    path = Path(path)
    report = json.loads(path.read_text())
    report["results"] = results(report["options"]["n"], report["runs"])
    path.write_text(json.dumps(report, indent=2))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--rate", type=int, default=20_000, help="deliveries per second offered")
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--max-queued-messages", type=int, default=300)
    parser.add_argument("--name", default="slow-consumer")
    opts = parser.parse_args()
    bench.install_cleanup()
    bench.WORK.mkdir(parents=True, exist_ok=True)
    bench.LOGS.mkdir(parents=True, exist_ok=True)
    runs = [run(opts, stalled=False), run(opts, stalled=True)]
    without, with_ = runs
    ratio = with_["p99_ms"] / without["p99_ms"] if without["p99_ms"] and with_["p99_ms"] else None
    report = {
        "options": vars(opts), "load_before": os.getloadavg(), "runs": runs, "p99_ratio": ratio,
        "results": results(opts.n, runs),
    }
    (RESULTS / f"{opts.name}.json").write_text(json.dumps(report, indent=2))
    lines = [
        f"# Slow consumer: {opts.n} subscribers, {opts.rate:,} deliveries/s offered for {opts.seconds} s",
        "",
        f"MAX_QUEUED_MESSAGES = {opts.max_queued_messages} (lowered; the workload's messages are about 100 bytes, and "
        "the kernel's send buffer of the stalled socket takes up to 4 MB before the queue fills). Load average before: "
        + ", ".join(f"{x:.2f}" for x in report["load_before"]) + ".",
        "",
        "| run | p50 / p99 / max ms | delivered/s | lost | duplicates | server CPU | RSS before → after | stalled subscriber |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in runs:
        lines.append(
            f"| {'with' if r['stalled_subscriber'] else 'without'} a stalled subscriber | {r['p50_ms']} / {r['p99_ms']} / {r['max_ms']} "
            f"| {r['delivered_per_s']} | {r['lost']} | {r['duplicates']} | {r['server_cpu_pct']} % "
            f"| {r['rss_before_mb']} → {r['rss_after_mb']} MB | {r['slow_consumer_closed'] or '—'} |"
        )
    lines += ["", f"p99 with / without: ×{ratio:.2f}" if ratio else "p99 ratio: n/a"]
    (RESULTS / f"{opts.name}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
