"""What the demo's chat users see while someone floods its login, crowds it or vanishes from it (issue 29; not CI).

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
  lasts until all have joined, at most 60 s;
* ``session-churn``: 3 clients log in as ``alice`` (the demo's staff user),
  read ``/metrics/`` (staff may), post an announcement (to every room, the
  witness's included; past ``CHAT_ANNOUNCEMENT_RATE``, 5 a minute, answered
  429) and log out, again and again for ``--seconds``, with
  ``DEMO_LOGIN_RATE=off``: each round is one PBKDF2 hash;
* ``one-address``: ``--crowd`` raw WebSocket connections to the lobby, all
  from 203.0.113.7 (``X-Forwarded-For``, which the demo trusts with
  ``DEMO_CLIENT_IP_HEADER=HTTP_X_FORWARDED_FOR``; the witness, on the
  loopback, stays exempt from the per-address caps), each trying once:
  ``MAX_CONNECTIONS_PER_IP`` (100) and ``HANDSHAKE_RATE`` (20 a second)
  refuse most. The load lasts until each has been answered, at most 60 s;
* ``rooms-100x100``: 100 rooms are created first through the rooms page's
  form (``DEMO_MAX_ROOMS``, ``DEMO_ROOM_CREATION_RATE`` raised for it), then
  100 connections from 203.0.113.7 (retrying refused handshakes until
  connected) each subscribe to all 100 at once: 10,000 subscriptions, of
  which ``MAX_SUBSCRIPTIONS_PER_IP`` (1,000) lets about 1,000 in. The load
  lasts until every subscription has been answered, at most 60 s;
* ``ping-timeouts``: 300 raw WebSocket connections join the lobby together
  and never answer a ping: after the demo's ping interval and timeout
  (25 + 20 s) they time out within a few seconds of each other. The load
  lasts until the server has closed them all, at most 60 s.

For each: p50, p99 and the slowest delivery (quiet and loaded), deliveries
late or lost (not within 3 s), acknowledgements refused or missing, and what
the load achieved. The server is pinned to core 0, the witness and the load
to core 1 (the load at a lower priority, so that the witness is served
first); run it on a quiet machine. It asserts nothing.

    .venv/bin/python bench/hub.py [--scenarios login-limited,login-unlimited,crowd,session-churn,one-address,rooms-100x100,ping-timeouts]
        [--seconds 10] [--crowd 3000] [--quiet 5] [--json bench/results/hub.json]
"""
import sys

if __name__ == "__main__" and sys.argv[1:2] in (["crowd"], ["roomers"]):
    # The crowd is one process of greenlets: 3,000 threads would cost more than the server.
    from gevent import monkey

    monkey.patch_all()

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
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
SCENARIOS = ("login-limited", "login-unlimited", "crowd", "session-churn", "one-address", "rooms-100x100", "ping-timeouts")
#: Where the crowds of one address come from (TEST-NET-3: never a real client, never loopback).
ONE_ADDRESS = "203.0.113.7"
#: The demo's environment per scenario (on top of start_demo's).
ENVIRONMENTS = {
    "login-unlimited": {"DEMO_LOGIN_RATE": "off"},
    "session-churn": {"DEMO_LOGIN_RATE": "off"},
    "one-address": {"DEMO_CLIENT_IP_HEADER": "HTTP_X_FORWARDED_FOR"},
    # 100 rooms of the bench's, the lobby, members and the witness's; all created from the loopback.
    "rooms-100x100": {"DEMO_CLIENT_IP_HEADER": "HTTP_X_FORWARDED_FOR", "DEMO_MAX_ROOMS": "200", "DEMO_ROOM_CREATION_RATE": "200/m"},
}
#: The rooms of rooms-100x100, and the subscribers of ping-timeouts.
ROOMS, GHOSTS = 100, 300
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


def churn(url, seconds, clients=3):
    """Log in as alice, read /metrics/, announce, log out, from ``clients`` clients for ``seconds``; print the counts."""
    import requests

    on_core_1(nice=10)
    counts = dict.fromkeys(("rounds", "logins", "metrics_read", "announced", "announcements_refused_429", "logouts", "errors"), 0)
    lock = threading.Lock()

    def count(name, yes=True):
        with lock:
            counts[name] += bool(yes)

    def person(index):
        with requests.Session() as http:
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                try:
                    http.get(url + "/login/", timeout=30)
                    data = {"username": "alice", "password": "demo", "csrfmiddlewaretoken": http.cookies.get("csrftoken", "")}
                    count("logins", http.post(url + "/login/", data=data, allow_redirects=False, timeout=60).status_code == 302)
                    count("metrics_read", http.get(url + "/metrics/", timeout=30).status_code == 200)
                    # Logging in rotated the CSRF token: the cookie holds the new one.
                    data = {"text": f"churn {index}", "csrfmiddlewaretoken": http.cookies.get("csrftoken", "")}
                    status = http.post(url + "/announce/", data=data, allow_redirects=False, timeout=30).status_code
                    count("announced", status == 302)
                    count("announcements_refused_429", status == 429)
                    data = {"csrfmiddlewaretoken": http.cookies.get("csrftoken", "")}
                    count("logouts", http.post(url + "/logout/", data=data, allow_redirects=False, timeout=30).status_code == 302)
                    count("rounds")
                except requests.RequestException:
                    count("errors")

    workers = [threading.Thread(target=person, args=(index,)) for index in range(clients)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    print(json.dumps(counts))


def create_rooms(url, slugs):
    """Open rooms ``slugs`` as the demo's visitors do, through the rooms page's form."""
    import requests

    with requests.Session() as http:
        http.get(url + "/", timeout=30)
        for slug in slugs:
            data = {"nickname": "", "room": slug, "csrfmiddlewaretoken": http.cookies.get("csrftoken", "")}
            answer = http.post(url + "/", data=data, allow_redirects=False, timeout=30)
            if answer.status_code != 302:
                raise SystemExit(f"the demo did not open room {slug!r}: {answer.status_code} {answer.text[:500]}")


def refusal_code(frame):
    """The error code of a refusal (a Socket.IO CONNECT_ERROR frame), else ``"refused"``."""
    match = re.search(r'"code":\s*"([a-z_]+)"', frame)
    return match.group(1) if match else "refused"


class Refused(Exception):
    """A connection or subscription the server refused; ``code`` says why."""

    def __init__(self, code):
        super().__init__(code)
        self.code = code


def open_socket(target, address):
    """A raw Engine.IO WebSocket to ``target``, from ``address`` (forwarded) if given; raise :class:`Refused` if closed at once."""
    import websocket

    header = [f"X-Forwarded-For: {address}"] if address else []
    ws = websocket.create_connection(target, timeout=30, header=header)
    if not ws.recv().startswith("0"):  # a WebSocket closed with 1013: server_busy
        ws.close()
        raise Refused("server_busy")
    return ws


def subscribe(ws, namespaces, name):
    """Subscribe ``ws`` to ``namespaces`` (all sent at once), answering pings; return the refusals' codes by namespace."""
    auth = json.dumps({"name": name})
    for namespace in namespaces:
        ws.send(f"40{namespace},{auth}")
    waiting, refused = set(namespaces), {}
    while waiting:
        frame = ws.recv()
        if frame == "2":
            ws.send("3")
        elif not frame or frame == "1":
            raise Refused("closed")
        elif frame[:2] in ("40", "44"):
            namespace = frame[2:].split(",", 1)[0]
            if namespace in waiting:
                waiting.discard(namespace)
                if frame.startswith("44"):
                    refused[namespace] = refusal_code(frame)
    return refused


def stay(ws, done, answer_pings=True):
    """Read ``ws`` until ``done`` is set or the server closes it, answering pings unless told not to; return whether the server closed it."""
    while not done.is_set():
        try:
            frame = ws.recv()
        except Exception:
            return not done.is_set()
        if not frame or frame == "1":
            return True
        if frame == "2" and answer_pings:
            ws.send("3")
    return False


def crowd(url, count, room, limit, mode, address):
    """Join ``room`` with ``count`` raw WebSocket connections (greenlets), from ``address`` unless it is ``-``; print what happened.

    ``mode`` ``join``: each answers pings and retries refusals a second or two
    later, until all have joined; ``once``: each tries once (the load ends
    when all have been answered); ``silent``: each retries until joined,
    then never answers a ping (the load ends when the server has closed
    them all).
    """
    import gevent
    from gevent.event import Event

    on_core_1(nice=10)
    address = None if address == "-" else address
    target = url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
    namespace = f"/rooms/{room}"
    joined, refusals, gone, started = [], {}, [], time.monotonic()
    done = Event()

    def member(index):
        while time.monotonic() - started < limit and not done.is_set():
            try:
                ws = open_socket(target, address)
                refused = subscribe(ws, [namespace], f"c{index}")
                if refused:
                    ws.close()
                    raise Refused(refused[namespace])
            except Exception as error:
                code = error.code if isinstance(error, Refused) else type(error).__name__
                refusals[code] = refusals.get(code, 0) + 1
                if mode == "once":
                    return
                gevent.sleep(1 + index % 10 / 10)
                continue
            joined.append(time.monotonic() - started)
            if mode == "silent":
                ws.settimeout(None)  # silent until the server gives up on it, whenever that is
            if stay(ws, done, answer_pings=mode != "silent"):
                gone.append(time.monotonic() - started)
            return

    def finished():
        if mode == "once":
            return len(joined) + sum(refusals.values()) >= count
        if mode == "silent":
            return len(gone) >= count
        return len(joined) >= count

    greenlets = [gevent.spawn(member, index) for index in range(count)]
    while not finished() and time.monotonic() - started < limit:
        gevent.sleep(0.2)
    achieved = {"joined": len(joined), "refusals": sum(refusals.values())}
    if mode == "join":
        achieved["all_joined_after_s"] = max(joined) if joined else None
    else:
        achieved["refused_by_code"] = refusals
    if mode == "once":
        achieved["all_answered_after_s"] = round(time.monotonic() - started, 1)
    if mode == "silent":
        achieved["timed_out"] = len(gone)
        achieved["first_timed_out_after_s"] = round(min(gone), 1) if gone else None
        achieved["all_timed_out_after_s"] = round(max(gone), 1) if gone else None
    print(json.dumps(achieved), flush=True)
    sys.stdin.read()  # stay connected until told
    done.set()
    gevent.killall(greenlets, timeout=5)


def roomers(url, count, rooms, limit, address):
    """Connect ``count`` raw WebSockets from ``address`` (retrying refused handshakes), each subscribing to rooms ``bench-0``.. ``bench-<rooms - 1>`` at once; print what happened."""
    import gevent
    from gevent.event import Event

    on_core_1(nice=10)
    target = url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
    namespaces = [f"/rooms/bench-{index}" for index in range(rooms)]
    answered, accepted, refusals, retries, started = [], [0], {}, {}, time.monotonic()
    done = Event()

    def member(index):
        while time.monotonic() - started < limit and not done.is_set():
            try:
                ws = open_socket(target, address)
                # One room first: a refused handshake refuses it, and the 99 others are not sent for nothing.
                first = subscribe(ws, namespaces[:1], f"c{index}")
                if first.get(namespaces[0]) in ("too_many_connections", "too_many_handshakes"):
                    ws.close()
                    raise Refused(first[namespaces[0]])
            except Exception as error:
                code = error.code if isinstance(error, Refused) else type(error).__name__
                retries[code] = retries.get(code, 0) + 1
                gevent.sleep(1 + index % 10 / 10)
                continue
            try:
                refused = {**first, **subscribe(ws, namespaces[1:], f"c{index}")}
            except Exception:
                return
            accepted[0] += len(namespaces) - len(refused)
            for code in refused.values():
                refusals[code] = refusals.get(code, 0) + 1
            answered.append(time.monotonic() - started)
            stay(ws, done)
            return

    greenlets = [gevent.spawn(member, index) for index in range(count)]
    while len(answered) < count and time.monotonic() - started < limit:
        gevent.sleep(0.2)
    print(json.dumps({
        "connections": len(answered),
        "subscribed": accepted[0],
        "refused": sum(refusals.values()),
        "refused_by_code": refusals,
        "handshakes_refused": retries,
        "all_answered_after_s": round(max(answered), 1) if answered else None,
    }), flush=True)
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
    server, url = start_demo(scenario, ENVIRONMENTS.get(scenario, {}))
    if scenario == "rooms-100x100":
        # Existing rooms: 10,000 first joins would each count as creating one.
        create_rooms(url, [f"bench-{index}" for index in range(ROOMS)])
    room = f"witness-{uuid.uuid4().hex[:6]}"
    watcher = helper("witness", url, room)
    try:
        assert watcher.stdout.readline().strip() == "ready", "the witness did not start"
        time.sleep(quiet)
        load_started = time.time()
        if scenario in ("login-limited", "login-unlimited", "session-churn"):
            load = helper("churn" if scenario == "session-churn" else "flood", url, seconds)
            achieved = json.loads(load.stdout.read())
            load.wait(60)
            load_ended = time.time()
        else:
            # The lobby exists: 3,000 first joins of a new room would each count as creating it.
            load = {
                "crowd": lambda: helper("crowd", url, crowd_size, "lobby", 60, "join", "-"),
                "one-address": lambda: helper("crowd", url, crowd_size, "lobby", 60, "once", ONE_ADDRESS),
                "rooms-100x100": lambda: helper("roomers", url, 100, ROOMS, 60, ONE_ADDRESS),
                "ping-timeouts": lambda: helper("crowd", url, GHOSTS, "lobby", 60, "silent", "-"),
            }[scenario]()
            achieved = json.loads(load.stdout.readline())
            load_ended = time.time()
            load.stdin.close()  # the crowd leaves
            load.wait(60)
        time.sleep(1)
        watcher.stdin.close()
        fates = json.loads(watcher.stdout.read().strip().splitlines()[-1])
        watcher.wait(60)
        # Every message's fate, and when the load ran, for a closer look than the summary's.
        record = {"load_started": load_started, "load_ended": load_ended, "fates": fates}
        (WORK / f"hub-{scenario}-witness.json").write_text(json.dumps(record))
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
    if sys.argv[1:2] == ["churn"]:
        return churn(sys.argv[2], float(sys.argv[3]))
    if sys.argv[1:2] == ["crowd"]:
        return crowd(sys.argv[2], int(sys.argv[3]), sys.argv[4], float(sys.argv[5]), sys.argv[6], sys.argv[7])
    if sys.argv[1:2] == ["roomers"]:
        return roomers(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]), sys.argv[6])
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--seconds", type=float, default=10, help="length of the login floods and of the session churn")
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
