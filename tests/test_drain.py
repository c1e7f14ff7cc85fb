"""Graceful drain (socketio_views.drain): a stopping process hands its clients to another one, losing nothing."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

from socketio_views.testing import LiveServer

from .ci import require
from .test_scaleout import redis_url  # noqa: F401 (a fixture)
from .waiting import wait_until
from .wire import WireClient

pytestmark = pytest.mark.django_db(transaction=True)

NODE_CLIENTS = Path(__file__).parent / "node" / "drain_clients.js"

#: Clients on process A (200 in the suite; 2,000 for the issue's figure: SOCKETIO_VIEWS_DRAIN_CLIENTS=2000).
CLIENTS = int(os.environ.get("SOCKETIO_VIEWS_DRAIN_CLIENTS", "200"))
#: The drain window, seconds (10 with 2,000 clients).
WINDOW = float(os.environ.get("SOCKETIO_VIEWS_DRAIN_WINDOW_S", "3"))


def node_env():
    node_path = os.environ.get("NODE_PATH") or str(Path(__file__).parent.parent / "node_modules")
    return {**os.environ, "NODE_PATH": node_path}


def start_pair(window):
    env = {
        "SOCKETIO_VIEWS_DRAIN_WINDOW": str(window),
        "SOCKETIO_VIEWS_BACKEND_CHANNEL": f"svt-drain-{uuid.uuid4().hex[:8]}",
    }
    a = LiveServer(settings_module="tests.settings_drain", env=env).start()
    b = LiveServer(settings_module="tests.settings_drain", env=env).start()
    return a, b


def status_of(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_sigterm_hands_every_client_to_the_other_process(redis_url, django_db_setup):  # noqa: F811
    """On SIGTERM, A's clients reconnect to B through the load balancer within the window plus 5 s, none refused, every message received once."""
    require(shutil.which("node") is not None, "node is not installed")
    a, b = start_pair(WINDOW)
    try:
        config = {
            "a": a.url.rstrip("/"),
            "b": b.url.rstrip("/"),
            "a_pid": a.process.pid,
            "namespace": f"/history/drain-{uuid.uuid4().hex[:8]}",
            "clients": CLIENTS,
            "window_s": WINDOW,
            # About 6,000 deliveries a second in all: 30 messages/s to 200 clients, 3/s to 2,000.
            "message_rate": max(2, 6000 // CLIENTS),
            "deadline_s": 60 + CLIENTS / 50 + WINDOW,
        }
        started = time.monotonic()
        run = subprocess.run(
            ["node", str(NODE_CLIENTS), json.dumps(config)],
            env=node_env(),
            capture_output=True,
            text=True,
            timeout=config["deadline_s"] + 30,
        )
        assert run.returncode == 0, run.stderr
        result = json.loads(run.stdout.strip().splitlines()[-1])
        print(json.dumps(result), f"({time.monotonic() - started:.1f} s)")
        assert "error" not in result, result
        assert (CLIENTS, CLIENTS, CLIENTS) == (result["clients"], result["connected_to_a"], result["reconnected"])
        assert result["all_back_s"] is not None and result["all_back_s"] <= WINDOW + 5, result
        assert (0, 0, 0) == (result["connect_errors"], result["engine_errors"], result["lb_after_term"]["A"]), result
        assert ["transport close"] == result["disconnect_reasons"], result
        assert (0, 0, 0) == (result["not_recovered"], result["missing"], result["duplicates"]), result
        assert result["messages"] == result["acked"] and result["messages"] >= 20, result
        # The transports closed over the window, not at once: uniform over it, the middle half of the closes
        # takes half of it (all at once, a fraction of a second however slow the machine)...
        q1, _median, q3 = result["closed_quartiles_s"]
        assert q3 - q1 >= WINDOW / 4, result
        # ...and the reconnections came as a stream.
        assert result["max_reconnect_s"] - result["first_reconnect_s"] >= WINDOW / 2, result
        # A exited by itself once drained.
        assert 0 == a.process.wait(timeout=10)
    finally:
        a.stop()
        b.stop()


def test_a_drain_hands_presence_over_without_announcing_leaves(redis_url, django_db_setup):  # noqa: F811
    """The subscribers A's drain closes are not announced as leaving (they reconnect at once); those that never come back expire after PRESENCE_TTL, as a crashed process's do."""
    # A short window: A's heartbeat must not find the first entry expired (2 s) before the last one closes.
    a, b = start_pair(0.5)
    channel = f"presence/drain-{uuid.uuid4().hex[:8]}"
    diffs_on_b = []  # (monotonic time, presence_diff) as carl, on B, receives them
    carl = WireClient(b.url)
    carl.sio.on("presence_diff", lambda data: diffs_on_b.append((time.monotonic(), data)), namespace="/" + channel)
    clients = [carl]
    try:
        carl.connect(channel, auth={"name": "carl"})
        ann = WireClient(a.url).connect(channel, auth={"name": "ann"})
        clients.append(ann)
        ben = WireClient(a.url).connect(channel, auth={"name": "ben"})
        clients.append(ben)
        ann.wait_for(channel, "presence_diff")  # ben's join
        # Joins within one PRESENCE_INTERVAL come in one diff.
        wait_until(lambda: sum(len(d["joins"]) for _t, d in diffs_on_b) >= 2, message=lambda: f"carl did not see ann and ben join: {diffs_on_b}")

        os.kill(a.process.pid, signal.SIGTERM)
        gone = {}

        def both_gone():
            for name, client in (("ann", ann), ("ben", ben)):
                if client.disconnects and name not in gone:
                    gone[name] = time.monotonic()
            return len(gone) == 2
        wait_until(both_gone, timeout=1 + 0.5 + 2 + 5, interval=0.01, message=lambda: f"A's drain did not close both: {gone}")

        def leaves(diffs):
            return [entry["user"] for diff in diffs for entry in diff["leaves"]]

        # On A, the one closed second heard nothing of the one closed first.
        assert ([], []) == (leaves(ann.received(channel, "presence_diff")), leaves(ben.received(channel, "presence_diff")))
        # On B, carl hears of them only once their entries expired (PRESENCE_TTL: 2 s, less one renewal).
        wait_until(lambda: sorted(leaves(d for _t, d in diffs_on_b)) == ["ann", "ben"], timeout=2 * 2 + 5,
                   message=lambda: f"ann's and ben's entries did not expire: {diffs_on_b}")
        late = {entry["user"]: at - gone[entry["user"]] for at, diff in diffs_on_b for entry in diff["leaves"]}
        assert all(delay > 0.5 for delay in late.values()), late
        assert 0 == a.process.wait(timeout=10)
    finally:
        for client in clients:
            client.close()
        a.stop()
        b.stop()


def test_slow_teardowns_do_not_hold_up_the_closes(redis_url, django_db_setup):  # noqa: F811
    """Each transport closes on schedule however long its subscriptions' on_disconnect takes, and every teardown still runs before A exits."""
    window, notice, count = 1, 1, 20
    a = LiveServer(settings_module="tests.settings_drain", env={"SOCKETIO_VIEWS_DRAIN_WINDOW": str(window)}).start()
    channel = f"slow-teardown/drain-{uuid.uuid4().hex[:8]}"
    clients = []
    try:
        for _ in range(count):
            clients.append(WireClient(a.url).connect(channel))
        os.kill(a.process.pid, signal.SIGTERM)
        stopped = time.monotonic()
        closed_at = {}

        def all_closed():
            for index, client in enumerate(clients):
                if client.disconnects and index not in closed_at:
                    closed_at[index] = time.monotonic() - stopped
            return len(closed_at) == count

        wait_until(all_closed, timeout=notice + window + 8, interval=0.01,
                   message=lambda: f"A's drain closed {len(closed_at)} of {count}: {sorted(closed_at.values())}")
        # (A margin of 2 s for a loaded machine: half a second per teardown, one after another, is 10 s.)
        assert max(closed_at.values()) <= notice + window + 2, sorted(closed_at.values())
        assert 0 == a.process.wait(timeout=10)

        # Every subscription was torn down (on_disconnect, then its recovery session saved) before A exited.
        def torn_down():
            return sum(f"from {channel!r} (server draining)" in line for line in list(a.output))

        wait_until(lambda: torn_down() == count, timeout=5, message=lambda: f"{torn_down()} torn down:\n{a.log()}")
    finally:
        for client in clients:
            client.close()
        a.stop()


def test_draining_process_refuses_handshakes_and_fails_its_health_check(django_db_setup):
    """While A drains, its health check answers 503 and a polling handshake gets 503 server_draining with Retry-After; A then exits."""
    server = LiveServer(settings_module="tests.settings_drain", env={"SOCKETIO_VIEWS_DRAIN_WINDOW": "3"}).start()
    try:
        assert (200, {"status": "ok"}) == status_of(server.url + "/healthz/")
        holder = WireClient(server.url).connect("history/drain-holder")
        os.kill(server.process.pid, signal.SIGTERM)
        time.sleep(0.3)
        expected = {"message": "This server is shutting down; connect again (to another server).", "code": "server_draining"}
        assert (503, expected) == status_of(server.url + "/healthz/")
        request = urllib.request.Request(server.url + "/socket.io/?EIO=4&transport=polling")
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=5)
        assert (503, "1", "close") == (
            refused.value.code, refused.value.headers["Retry-After"], refused.value.headers["Connection"]
        )
        assert expected == json.loads(refused.value.read())
        assert 0 == server.process.wait(timeout=3 + 2 + 5)
        holder.close()
    finally:
        server.stop()


def free_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_gunicorn_worker_drains_on_sigterm(tmp_path):
    """gunicorn's graceful shutdown (SIGTERM to the arbiter) reaches the worker class: it drains its connection, then exits well before graceful_timeout."""
    import socketio

    gunicorn = Path(sys.executable).parent / "gunicorn"
    require(gunicorn.exists(), "gunicorn is not installed")
    port = free_port()
    log = open(tmp_path / "gunicorn.log", "w+")
    # As in a deployment, the arbiter's environment has no DJANGO_SETTINGS_MODULE
    # (tests/wsgi.py sets it, to tests.settings, in the worker): importing the
    # worker class must not touch Django.
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    process = subprocess.Popen(
        [str(gunicorn), "--worker-class", "socketio_views.workers.GeventWebSocketWorker", "--workers", "1",
         "--graceful-timeout", "20", "--no-control-socket", "--bind", f"127.0.0.1:{port}", "tests.wsgi"],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    client = socketio.Client(reconnection=False)
    reasons = []
    client.on("disconnect", lambda *args: reasons.append(args), namespace="/history/gunicorn-drain")
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if status_of(f"http://127.0.0.1:{port}/healthz/")[0] == 200:
                    break
            except OSError:
                time.sleep(0.2)
        client.connect(f"http://127.0.0.1:{port}", namespaces=["/history/gunicorn-drain"], transports=["websocket"])
        stopped = time.monotonic()
        process.send_signal(signal.SIGTERM)
        assert 0 == process.wait(timeout=15)
        elapsed = time.monotonic() - stopped
        log.seek(0)
        output = log.read()
        assert "Draining: closing 1 connection(s) over 0.0 s" in output, output
        assert "Connection" in output and "closed (server draining)" in output, output
        # The drain (tests.settings: no notice, no window), not graceful_timeout (20 s), ended it.
        assert elapsed < 10, (elapsed, output)
        assert reasons, "the client saw no disconnection"
    finally:
        client.disconnect()
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
        log.close()
