"""Room-routed fan-out on Redis against one shared Redis channel and Node's sharded adapter, side by side.

Four ``runserver_socketio`` processes of the bench project share one Redis;
broadcasts are published from this process through socketio_views' own
write-only manager (as a web worker or a task would). Each workload runs with
``BACKEND_ROUTING = "channel"`` (the default) and ``"shared"`` (python-socketio's
one channel, which every process reads) in turn, then on four Socket.IO for
Node servers (bench/node/server.js) with ``@socket.io/redis-adapter``'s sharded
adapter (``createShardedAdapter``, Redis 7's ``SPUBLISH`` / ``SSUBSCRIBE``,
``subscriptionMode: "dynamic"``; row ``node-sharded``), whose broadcasts come
from a fifth Node process on the same adapter that serves no client
(bench/node/publish.js, pinned with the clients). A room is a namespace
``/rooms/<slug>`` there as here (bench/node/server.js), and a namespace has a
Redis channel of its own in every ``subscriptionMode``. It prints the CPU each
server process spent (``/proc/<pid>/stat``, utime + stime) and the ratios:

* ``one-room``: 20 subscribers of one room, all on process 1; 2,000 broadcasts
  (``--one-room``).
  The figure: CPU of each process without subscribers / CPU of the busy one.
* ``rooms``: 400 rooms, each with one subscriber on process ``room % 4``;
  20,000 broadcasts spread over the rooms (``--rooms``). The figure: total CPU
  per delivery.

Broadcasts go out at a fixed rate (``--rate``, 2,000 a second), which every
process keeps up with, so that each reads as many messages at a time in both
routings. Servers are pinned to core 0 and the clients to core 1, as in bench.py; run it
on a quiet machine. It asserts nothing and is never run by CI.

    .venv/bin/python bench/routing.py [--json bench/results/routing.json] [--routings channel,shared,node-sharded]

The Node rows need ``node`` and bench/node/node_modules (``npm ci`` there, or
bench/run.sh once).
"""
import argparse
import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
PROJECT = BENCH / "project"
sys.path.insert(0, str(ROOT))

import socketio  # noqa: E402

from socketio_views.transport.managers import make_manager  # noqa: E402

REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
PROCESSES = 4
NODE = BENCH / "node"
#: The rows: socketio_views' BACKEND_ROUTING values, and Socket.IO for Node with the sharded adapter.
ROUTINGS = ("channel", "shared", "node-sharded")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_ticks(pid):
    """utime + stime of process ``pid``, in clock ticks."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def start_servers(routing, channel, logs):
    if routing == "node-sharded":
        return start_node_servers(channel, logs)
    env = {
        **os.environ,
        "BENCH_SOCKETIO_VIEWS_BACKEND": REDIS_URL,
        "BENCH_SOCKETIO_VIEWS_CHANNEL": channel,
        "BENCH_SOCKETIO_VIEWS": json.dumps({"BACKEND_ROUTING": routing}),
        "BENCH_METRICS": "off",
        "PYTHONUNBUFFERED": "1",
    }
    servers = []
    for index in range(PROCESSES):
        port = free_port()
        log = open(logs / f"routing-{routing}-{index}.log", "w")
        proc = subprocess.Popen(
            ["taskset", "-c", "0", sys.executable, "manage.py", "runserver_socketio", "--noreload", f"127.0.0.1:{port}"],
            cwd=PROJECT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
        servers.append((proc, port))
    return wait_for_ports(servers, logs)


def start_node_servers(channel, logs):
    servers = []
    for index in range(PROCESSES):
        port = free_port()
        log = open(logs / f"routing-node-sharded-{index}.log", "w")
        proc = subprocess.Popen(
            ["taskset", "-c", "0", "node", "server.js", str(port), "--redis", REDIS_URL, "--redis-key", channel, "--sharded"],
            cwd=NODE, stdout=log, stderr=subprocess.STDOUT,
        )
        servers.append((proc, port))
    return wait_for_ports(servers, logs)


def wait_for_ports(servers, logs):
    for proc, port in servers:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"server on port {port} did not start (see {logs})")
                time.sleep(0.2)
    return servers


class Counter:
    def __init__(self):
        self.count = 0
        self.lock = threading.Lock()

    def __call__(self, *args):
        with self.lock:
            self.count += 1


def connect(port, rooms, counter):
    client = socketio.Client()
    for room in rooms:
        client.on("message", counter, namespace=f"/rooms/{room}")
    client.connect(
        f"http://127.0.0.1:{port}", namespaces=[f"/rooms/{room}" for room in rooms], transports=["websocket"],
        auth={"name": "bench"}, wait_timeout=30,
    )
    return client


def publish(routing, channel, namespaces, rate, servers):
    """Publish ``namespaces[n]``'s broadcast n through a write-only manager; return the servers' ticks before."""
    publisher = make_manager(REDIS_URL, write_only=True, routing=routing, channel=channel)
    before = [cpu_ticks(proc.pid) for proc, _port in servers]
    # At a fixed rate that no process falls behind (CPU per message depends on how many arrive per read).
    started = time.monotonic()
    for n, namespace in enumerate(namespaces):
        delay = started + n / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        publisher.emit("message", {"user": "bench", "text": str(n)}, namespace=namespace)
    return before


def publish_from_node(channel, namespaces, rate, servers):
    """The same broadcasts from bench/node/publish.js, on the sharded adapter; return the servers' ticks before."""
    distinct = list(dict.fromkeys(namespaces))  # namespaces[n] is distinct[n % len(distinct)]
    publisher = subprocess.Popen(
        ["node", "publish.js", "--redis", REDIS_URL, "--redis-key", channel, "--sharded",
         "--rate", str(rate), "--count", str(len(namespaces)), *distinct],
        cwd=NODE, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        if publisher.stdout.readline().strip() != "ready":
            raise SystemExit("bench/node/publish.js did not start")
        before = [cpu_ticks(proc.pid) for proc, _port in servers]
        publisher.stdin.write("go\n")
        publisher.stdin.flush()
        if publisher.stdout.readline().strip() != "done":
            raise SystemExit("bench/node/publish.js did not finish")
        return before
    finally:
        try:
            publisher.wait(15)
        except subprocess.TimeoutExpired:
            publisher.kill()
            publisher.wait()


def run(workload, routing, logs, broadcasts, rate):
    channel = f"bench-routing-{uuid.uuid4().hex[:8]}"
    servers = start_servers(routing, channel, logs)
    clients, counter = [], Counter()
    try:
        if workload == "one-room":
            # Every process serves a socket (so each listens to Redis); process 1 holds the room.
            clients += [connect(port, [f"idle-{index}"], Counter()) for index, (_proc, port) in enumerate(servers)]
            clients += [connect(servers[0][1], ["busy"], counter) for _ in range(20)]
            namespaces, expected = ["/rooms/busy"] * broadcasts, 20 * broadcasts
        else:
            for index, (_proc, port) in enumerate(servers):
                clients.append(connect(port, [f"r{room}" for room in range(index, 400, PROCESSES)], counter))
            namespaces, expected = [f"/rooms/r{n % 400}" for n in range(broadcasts)], broadcasts
        time.sleep(1)  # the subscriptions reach Redis
        if routing == "node-sharded":
            before = publish_from_node(channel, namespaces, rate, servers)
        else:
            before = publish(routing, channel, namespaces, rate, servers)
        deadline = time.monotonic() + 120
        while counter.count < expected and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)  # the idle processes finish reading
        spent = [cpu_ticks(proc.pid) - b for (proc, _port), b in zip(servers, before)]
        seconds = [ticks / os.sysconf("SC_CLK_TCK") for ticks in spent]
        return {
            "workload": workload,
            "routing": routing,
            "received": counter.count,
            "expected": expected,
            "ticks": spent,
            # The busiest process without subscribers, against the one that delivers (one-room).
            "idle_busy_pct": 100 * max(spent[1:]) / max(spent[0], 1),
            # Every process's CPU over the deliveries made.
            "cpu_us_per_delivery": sum(seconds) * 1e6 / max(counter.count, 1),
        }
    finally:
        for client in clients:
            client.disconnect()
        for proc, _port in servers:
            proc.terminate()
        for proc, _port in servers:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", help="write the results there too")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--one-room", type=int, default=2000, help="broadcasts of the one-room workload")
    parser.add_argument("--rooms", type=int, default=20000, help="broadcasts of the rooms workload")
    parser.add_argument("--rate", type=int, default=2000, help="broadcasts a second")
    parser.add_argument("--routings", default=",".join(ROUTINGS), help="the rows, comma-separated")
    args = parser.parse_args()
    routings = args.routings.split(",")
    if set(routings) - set(ROUTINGS):
        parser.error(f"--routings: one or more of {', '.join(ROUTINGS)}")
    os.sched_setaffinity(0, {1})
    logs = BENCH / ".work" / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    results = []
    for _run in range(args.runs):
        for workload in ("one-room", "rooms"):
            for routing in routings:
                broadcasts = args.one_room if workload == "one-room" else args.rooms
                result = run(workload, routing, logs, broadcasts, args.rate)
                results.append(result)
                ticks = result["ticks"]
                print(
                    f"{workload:<9} {routing:<12} received {result['received']}/{result['expected']}  "
                    f"ticks per process {ticks}  idle/busy {result['idle_busy_pct']:.1f} %  "
                    f"{result['cpu_us_per_delivery']:.0f} µs of CPU per delivery",
                    flush=True,
                )
    for workload in ("one-room", "rooms"):
        totals = {
            routing: sum(sum(r["ticks"]) for r in results if r["workload"] == workload and r["routing"] == routing)
            for routing in routings
        }
        if "shared" in totals and len(totals) > 1:
            print(f"{workload}: total CPU " + ", ".join(
                f"{routing} / shared = ×{total / max(totals['shared'], 1):.2f}"
                for routing, total in totals.items() if routing != "shared"
            ))
    if args.json:
        # The shape docs/benchfigures.py reads: results -> workload -> routing -> "4proc" -> runs.
        shaped = {}
        for result in results:
            shaped.setdefault(result["workload"], {}).setdefault(result["routing"], {}).setdefault("4proc", []).append(result)
        document = {"name": Path(args.json).stem, "machine": os.uname().release, "cpus": os.cpu_count(), "results": shaped}
        Path(args.json).write_text(json.dumps(document, indent=1) + "\n")


if __name__ == "__main__":
    main()
