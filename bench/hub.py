"""What the demo's chat users see while someone floods its login or a crowd joins one room (issue 29; not CI).

Each scenario starts the demo (``demo/``, its own settings, a fresh SQLite
database under ``.work/``) with ``runserver_socketio``, and a witness: 8
python-socketio clients in one room, which together send a message every
100 ms (each client every 800 ms, under the demo's 3 a second), every
message reaching all 8. The witness's delivery latencies are read before the
load (``--quiet``, 5 s) and during it:

* ``login-limited``: 3 clients post wrong passwords for ``bob`` to the login
  page for ``--seconds``, as fast as they are answered, with the demo's
  login limit (``CHAT_LOGIN_RATE``, 10 a minute per address and per
  username: the rest are answered 429 before any hash);
* ``login-unlimited``: the same with ``DEMO_LOGIN_RATE=off``: every attempt
  is a PBKDF2 hash (in the hashing threads, ``PASSWORD_HASHING_IN_THREADS``);
* ``crowd``: ``--crowd`` (3,000) raw WebSocket connections from the loopback
  join the demo's lobby, each answering pings; those refused (``server_busy``
  past ``MAX_HANDSHAKES_IN_PROGRESS``) try again a second later. The load
  lasts until all have joined, at most 60 s.

For each: p50, p99 and the slowest delivery (quiet and loaded), deliveries
late or lost (not within 3 s), acknowledgements refused or missing, and what
the load achieved. The server is pinned to core 0, the witness and the load
to core 1 (the load at a lower priority, so that the witness is served
first); run it on a quiet machine. It asserts nothing.

    .venv/bin/python bench/hub.py [--scenarios login-limited,login-unlimited,crowd]
        [--seconds 10] [--crowd 3000] [--quiet 5] [--json bench/results/hub.json]
"""
import sys

if __name__ == "__main__" and sys.argv[1:2] == ["crowd"]:
    # The crowd is one process of greenlets: 3,000 threads would cost more than the server.
    from gevent import monkey

    monkey.patch_all()

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from pathlib import Path  # noqa: E402

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
DEMO = ROOT / "demo"
WORK = BENCH / ".work"
SCENARIOS = ("login-limited", "login-unlimited", "crowd")
#: The witness's clients, the interval between two of its messages, and when a delivery counts as lost.
WITNESSES, INTERVAL, LOST_AFTER = 8, 0.1, 3.0


def on_core_1(nice=0):
    """Run this process on core 1 (the server has core 0), ``nice`` below the others."""
    if os.cpu_count() and os.cpu_count() > 1:
        os.sched_setaffinity(0, {1})
    if nice:
        os.nice(nice)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_demo(name, env):
    """Migrate a fresh demo database and serve it on core 0; return ``(process, url)``."""
    WORK.mkdir(exist_ok=True)
    database = WORK / f"hub-{name}.sqlite3"
    database.unlink(missing_ok=True)
    # The witness's 8 people share one address here: each gets the budget of one person.
    env = {**os.environ, "DEMO_DATABASE": str(database), "DEMO_MESSAGE_RATE_SCOPE": "subscription", "PYTHONUNBUFFERED": "1", **env}
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=DEMO, env=env, check=True)
    port = free_port()
    log = open(WORK / f"hub-{name}.log", "w")
    pin = ["taskset", "-c", "0"] if (os.cpu_count() or 1) > 1 else []
    process = subprocess.Popen(
        [*pin, sys.executable, "manage.py", "runserver_socketio", "--noreload", f"127.0.0.1:{port}"],
        cwd=DEMO, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process, f"http://127.0.0.1:{port}"
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the demo did not start (see {log.name})")
            time.sleep(0.2)


def witness(url, room):
    """Send a message every INTERVAL through the 8 clients in turn until stdin closes; print every message's fate as JSON."""
    import socketio

    on_core_1()
    namespace = f"/rooms/{room}"
    sent, acks, deliveries = {}, {}, {}
    lock = threading.Lock()
    clients = []
    for index in range(WITNESSES):
        client = socketio.Client()

        def received(data, *offset, index=index):  # history's offset follows the data
            parts = str(data.get("text", "")).split()
            if len(parts) == 2 and parts[0].isdigit():
                with lock:
                    deliveries.setdefault(int(parts[0]), {})[index] = time.time() - float(parts[1])

        client.on("message", received, namespace=namespace)
        client.connect(url, namespaces=[namespace], transports=["websocket"], auth={"name": f"w{index}"}, wait_timeout=30)
        clients.append(client)
    stop = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    print("ready", flush=True)
    n, started = 0, time.monotonic()
    while not stop.is_set():
        now = time.time()
        sent[n] = now

        def acked(answer=None, n=n, now=now):
            acks[n] = (time.time() - now, "error" not in (answer or {}))

        clients[n % WITNESSES].emit("message", {"text": f"{n} {now}"}, namespace=namespace, callback=acked)
        n += 1
        stop.wait(max(0.0, started + n * INTERVAL - time.monotonic()))
    time.sleep(LOST_AFTER)
    for client in clients:
        client.disconnect()
    with lock:
        fates = [[sent[k], acks.get(k), [deliveries.get(k, {}).get(i) for i in range(WITNESSES)]] for k in sorted(sent)]
    print(json.dumps(fates), flush=True)


def flood(url, seconds, threads=3):
    """Post wrong passwords for bob to the login page from ``threads`` clients for ``seconds``; print the answers' statuses."""
    import requests

    on_core_1(nice=10)
    statuses = []

    def attack():
        with requests.Session() as http:
            http.get(url + "/login/", timeout=30)
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                data = {"username": "bob", "password": "guess", "csrfmiddlewaretoken": http.cookies.get("csrftoken", "")}
                try:
                    statuses.append(http.post(url + "/login/", data=data, allow_redirects=False, timeout=60).status_code)
                except requests.RequestException:
                    statuses.append(0)

    workers = [threading.Thread(target=attack) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    print(json.dumps({"attempts": len(statuses), "hashed": statuses.count(200), "refused_429": statuses.count(429)}))


def crowd(url, count, room, limit):
    """Join ``room`` with ``count`` raw WebSocket connections (greenlets), answering pings, retrying refusals; print what happened."""
    import gevent
    import websocket
    from gevent.event import Event

    on_core_1(nice=10)
    target = url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
    joined, refusals, started = [], [0], time.monotonic()
    done = Event()

    def member(index):
        while time.monotonic() - started < limit and not done.is_set():
            try:
                ws = websocket.create_connection(target, timeout=30)
                ws.recv()  # Engine.IO open
                ws.send(f'40/rooms/{room},{json.dumps({"name": f"c{index}"})}')
                while True:
                    frame = ws.recv()
                    if frame == "2":
                        ws.send("3")
                    elif frame.startswith(f"40/rooms/{room},"):
                        joined.append(time.monotonic() - started)
                        break
                    elif frame.startswith(f"44/rooms/{room},"):
                        raise ConnectionRefusedError(frame)
            except Exception:
                refusals[0] += 1
                gevent.sleep(1 + index % 10 / 10)
                continue
            # Joined: stay, reading and answering pings, until the end.
            while not done.is_set():
                try:
                    if ws.recv() == "2":
                        ws.send("3")
                except Exception:
                    return
            return

    greenlets = [gevent.spawn(member, index) for index in range(count)]
    while len(joined) < count and time.monotonic() - started < limit:
        gevent.sleep(0.2)
    print(json.dumps({"joined": len(joined), "refusals": refusals[0], "all_joined_after_s": max(joined) if joined else None}), flush=True)
    sys.stdin.read()  # stay connected until told
    done.set()
    gevent.killall(greenlets, timeout=5)


def percentile(values, fraction):
    values = sorted(values)
    return values[min(len(values) - 1, int(fraction * len(values)))] if values else None


def window(fates, start, end):
    """The witness's figures for messages sent between ``start`` and ``end`` (wall clock)."""
    chosen = [fate for fate in fates if start <= fate[0] < end]
    latencies = [latency for fate in chosen for latency in fate[2] if latency is not None]
    late = sum(1 for fate in chosen for latency in fate[2] if latency is None or latency > LOST_AFTER)
    return {
        "messages": len(chosen),
        "p50_ms": round(percentile(latencies, 0.5) * 1000) if latencies else None,
        "p99_ms": round(percentile(latencies, 0.99) * 1000) if latencies else None,
        "max_ms": round(max(latencies) * 1000) if latencies else None,
        "late_or_lost": late,
        "acks_refused": sum(1 for fate in chosen if fate[1] is not None and not fate[1][1]),
        "acks_missing": sum(1 for fate in chosen if fate[1] is None or fate[1][0] > LOST_AFTER),
    }


def helper(mode, *args):
    return subprocess.Popen(
        [sys.executable, __file__, mode, *map(str, args)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )


def run(scenario, seconds, crowd_size, quiet):
    env = {"DEMO_LOGIN_RATE": "off"} if scenario == "login-unlimited" else {}
    server, url = start_demo(scenario, env)
    room = f"witness-{uuid.uuid4().hex[:6]}"
    watcher = helper("witness", url, room)
    try:
        assert watcher.stdout.readline().strip() == "ready", "the witness did not start"
        time.sleep(quiet)
        load_started = time.time()
        if scenario == "crowd":
            # The lobby exists: 3,000 first joins of a new room would each count as creating it.
            load = helper("crowd", url, crowd_size, "lobby", 60)
            achieved = json.loads(load.stdout.readline())
            load_ended = time.time()
            load.stdin.close()  # the crowd leaves
            load.wait(60)
        else:
            load = helper("flood", url, seconds)
            achieved = json.loads(load.stdout.read())
            load.wait(60)
            load_ended = time.time()
        time.sleep(1)
        watcher.stdin.close()
        fates = json.loads(watcher.stdout.read().strip().splitlines()[-1])
        watcher.wait(60)
    finally:
        for process in (watcher, server):
            if process.poll() is None:
                process.kill()
                process.wait(10)
    return {
        "scenario": scenario,
        "load": achieved,
        "load_seconds": round(load_ended - load_started, 1),
        "quiet": window(fates, load_started - quiet, load_started),
        "loaded": window(fates, load_started, load_ended),
    }


def main():
    if sys.argv[1:2] == ["witness"]:
        return witness(sys.argv[2], sys.argv[3])
    if sys.argv[1:2] == ["flood"]:
        return flood(sys.argv[2], float(sys.argv[3]))
    if sys.argv[1:2] == ["crowd"]:
        return crowd(sys.argv[2], int(sys.argv[3]), sys.argv[4], float(sys.argv[5]))
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--seconds", type=float, default=10, help="length of the login floods")
    parser.add_argument("--crowd", type=int, default=3000, help="connections of the crowd")
    parser.add_argument("--quiet", type=float, default=5, help="seconds of the witness alone, before each load")
    parser.add_argument("--runs", type=int, default=1, help="runs of each scenario (the docs show medians)")
    parser.add_argument("--json", help="write the results there too")
    args = parser.parse_args()
    # The crowd's sockets, and the server's, take a descriptor each.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard if hard != resource.RLIM_INFINITY else 65536, hard))
    # As bench.py's results: workload -> row -> key -> runs, so that the docs' :bench: role reads them.
    results = {"hub": {}}
    scenarios = args.scenarios.split(",")
    for scenario in scenarios:
        if scenario not in SCENARIOS:
            raise SystemExit(f"unknown scenario {scenario!r}; choose among {', '.join(SCENARIOS)}")
    for _ in range(args.runs):
        for scenario in scenarios:
            result = run(scenario, args.seconds, args.crowd, args.quiet)
            results["hub"].setdefault(scenario, {}).setdefault("witness", []).append(result)
            quiet, loaded = result["quiet"], result["loaded"]
            print(
                f"{scenario:<16} witness p99 {quiet['p99_ms']} ms quiet, {loaded['p99_ms']} ms loaded "
                f"(max {loaded['max_ms']} ms; {loaded['late_or_lost']} deliveries late or lost, "
                f"{loaded['acks_missing']} acks missing, {loaded['acks_refused']} refused); "
                f"load {result['load']} in {result['load_seconds']} s",
                flush=True,
            )
    if args.json:
        document = {"name": Path(args.json).stem, "machine": os.uname().release, "cpus": os.cpu_count(), "results": results}
        Path(args.json).write_text(json.dumps(document, indent=1) + "\n")


if __name__ == "__main__":
    main()
