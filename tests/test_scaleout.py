"""Scale-out: several real server processes sharing a real Redis."""
import itertools
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid

import pytest

from socketio_views.testing import LiveServer

from .ci import require
from .waiting import wait_until
from .wire import WireClient, session_cookie

pytestmark = pytest.mark.django_db(transaction=True)

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")


def redis_reachable(url):
    import redis

    try:
        return redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except Exception:
        return False


@pytest.fixture(scope="module")
def redis_url():
    require(redis_reachable(REDIS_URL), f"Redis is not reachable at {REDIS_URL}")
    return REDIS_URL


def cluster_env(backend):
    return {"SOCKETIO_VIEWS_BACKEND": backend, "SOCKETIO_VIEWS_BACKEND_CHANNEL": f"svt-{uuid.uuid4().hex[:8]}"}


@pytest.fixture(scope="module")
def cluster(redis_url, django_db_setup, django_db_blocker):
    """Three runserver_socketio processes sharing Redis."""
    env = cluster_env(redis_url)
    servers = [LiveServer(settings_module="tests.settings_redis", env=env).start() for _ in range(3)]
    wait_until_linked(servers)
    yield servers
    for server in servers:
        server.stop()


def wait_until_linked(servers, timeout=10):
    """Return once a broadcast from the first server reaches every other one.

    Each process subscribes to Redis in the background once it serves its
    first socket, and pub/sub keeps nothing for late subscribers.
    """
    channel = f"presence/link-{uuid.uuid4().hex[:6]}"
    probes = [WireClient(server.url).connect(channel, auth={"name": f"probe{i}"}) for i, server in enumerate(servers)]
    sent = itertools.count()

    def linked():
        if all("link" in [t.split()[0] for t in texts(probe, channel)] for probe in probes[1:]):
            return True
        assert probes[0].call(channel, "message", {"text": f"link {next(sent)}"}) == {"ok": True}
        return False

    try:
        wait_until(linked, timeout=timeout, interval=0.2, message=f"broadcasts did not cross processes within {timeout} s")
    finally:
        for probe in probes:
            probe.close()


@pytest.fixture
def clients():
    opened = []

    def client(server, *channels, **kwargs):
        opened.append(WireClient(server.url).connect(*channels, **kwargs))
        return opened[-1]

    yield client
    for c in opened:
        if c.sio.connected:
            c.close()


def texts(client, channel):
    return [m["text"] for m in client.received(channel, "message") if "text" in m]


def test_broadcast_reaches_every_process_exactly_once_in_order(cluster, clients):
    """A client on A broadcasts 50 messages; subscribers on A, B and C get each once, in order."""
    channel = f"presence/fanout-{uuid.uuid4().hex[:6]}"
    publisher = clients(cluster[0], channel, auth={"name": "pub"})
    receivers = [clients(server, channel, auth={"name": f"r{i}"}) for i, server in enumerate(cluster)]
    closer = clients(cluster[1], channel, auth={"name": "closer"})

    for n in range(50):
        assert publisher.call(channel, "message", {"text": str(n)}) == {"ok": True}
    for receiver in receivers + [publisher]:
        receiver.wait_for(channel, "message", count=50, timeout=10)
    # An end marker that reaches every process through Redis after the 50
    # (A published them before acknowledging, and Redis keeps the order of
    # its channel), so any copy of them that a process receives, from Redis
    # or from itself, arrives before it.
    assert closer.call(channel, "message", {"text": "end"}) == {"ok": True}
    expected = [str(n) for n in range(50)] + ["end"]
    for receiver in receivers + [publisher]:
        wait_until(lambda: "end" in texts(receiver, channel), timeout=10, message=lambda: texts(receiver, channel))
        assert expected == texts(receiver, channel)


def test_include_self_false_across_processes(cluster, clients):
    """include_self=False skips the sender only, wherever the others are connected."""
    channel = f"presence/typing-{uuid.uuid4().hex[:6]}"
    alice = clients(cluster[0], channel, auth={"name": "alice"})
    bob = clients(cluster[1], channel, auth={"name": "bob"})
    carol = clients(cluster[0], channel, auth={"name": "carol"})

    alice.call(channel, "typing", {})
    assert bob.wait_for(channel, "typing") == [{"user": "alice"}]
    assert carol.wait_for(channel, "typing") == [{"user": "alice"}]
    alice.call(channel, "message", {"text": "sync"})
    alice.wait_for(channel, "message")
    assert alice.received(channel, "typing") == []


def test_presence_lists_subscribers_of_every_process(cluster, clients):
    """self.presence() sees subscriptions held by other processes, with their metadata."""
    channel = f"presence/who-{uuid.uuid4().hex[:6]}"
    alice = clients(cluster[0], channel, auth={"name": "alice"})
    bob = clients(cluster[2], channel, auth={"name": "bob"})

    assert [p["user"] for p in bob.call(channel, "who")] == ["alice", "bob"]
    assert alice.wait_for(channel, "presence_diff")[0]["joins"][0]["user"] == "bob"
    bob.close()
    assert alice.wait_for(channel, "presence_diff", count=2, timeout=10)[1]["leaves"][0]["user"] == "bob"
    assert [p["user"] for p in alice.call(channel, "who")] == ["alice"]


SENDER = """
import django, json, os, sys
django.setup()
from django.db import transaction
import socketio_views
from socketio_views.transport.server import server_exists
channel, sid = sys.argv[1], sys.argv[2]
socketio_views.broadcast(channel, {"from": "script"}, event="news")
try:
    with transaction.atomic():
        socketio_views.broadcast_on_commit(channel, {"n": "rolled back"}, event="saved")
        raise RuntimeError
except RuntimeError:
    pass
with transaction.atomic():
    socketio_views.broadcast_on_commit(channel, {"n": "committed"}, event="saved")
socketio_views.send(sid, {"to": "you"}, event="direct", channel=channel)
socketio_views.broadcast(channel, {"from": "script"}, event="end")  # after everything, on the same Redis channel
print(json.dumps({"server_created": server_exists()}))
"""


def test_broadcast_from_a_process_without_socket_server(cluster, clients, redis_url):
    """A plain Django process broadcasts, broadcasts on commit and sends, through a write-only manager."""
    from django.db import connection

    channel = f"presence/script-{uuid.uuid4().hex[:6]}"
    alice = clients(cluster[1], channel, auth={"name": "alice"})
    bob = clients(cluster[2], channel, auth={"name": "bob"})
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings_redis",
        "SOCKETIO_VIEWS_TEST_DB": connection.settings_dict["NAME"],
        **{k: v for k, v in cluster[0].env.items()},
    }
    result = subprocess.run(
        [sys.executable, "-c", SENDER, channel, alice.sio.get_sid("/" + channel)],
        env=env, capture_output=True, text=True, timeout=60, check=True,
    )
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {"server_created": False}
    for client in (alice, bob):
        client.wait_for(channel, "end")  # the script's last broadcast: everything it sent has arrived
        assert client.received(channel, "news") == [{"from": "script"}]
        assert client.received(channel, "saved") == [{"n": "committed"}]
    assert alice.received(channel, "direct") == [{"to": "you"}]
    assert bob.received(channel, "direct") == []


def test_presence_of_a_killed_process_expires(redis_url, django_db_setup, clients):
    """After SIGKILL, a process's subscribers leave presence within the TTL (2 s here), with a presence_diff."""
    env = cluster_env(redis_url)
    doomed = LiveServer(settings_module="tests.settings_redis", env=env).start()
    survivor = LiveServer(settings_module="tests.settings_redis", env=env).start()
    try:
        channel = f"presence/crash-{uuid.uuid4().hex[:6]}"
        ghost = clients(doomed, channel, auth={"name": "ghost"})
        ghost_sid = ghost.sid = ghost.sio.get_sid("/" + channel)
        alive = clients(survivor, channel, auth={"name": "alive"})
        assert [p["user"] for p in alive.call(channel, "who")] == ["ghost", "alive"]
        # The ghost's join, coalesced into the doomed process's next presence
        # tick (0.2 s), may reach alive after alive's own subscription: past it.
        time.sleep(0.5)
        before = len(alive.received(channel, "presence_diff"))

        os.killpg(doomed.process.pid, signal.SIGKILL)
        started = time.monotonic()
        diffs = alive.wait_for(channel, "presence_diff", count=before + 1, timeout=10)[before:]
        assert diffs == [{"joins": [], "leaves": [{"sid": ghost_sid, "user": "ghost"}]}]
        assert time.monotonic() - started < 6
        assert [p["user"] for p in alive.call(channel, "who")] == ["alive"]
    finally:
        doomed.stop()
        survivor.stop()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_redis(port):
    return subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


def wait_for_redis(url, timeout=10):
    wait_until(lambda: redis_reachable(url), timeout=timeout, message=f"redis at {url} did not start")


#: How long a broadcast may take to cross processes again once Redis is back.
HEAL_BOUND = 5
#: The one warning each process logs when its cross-process delivery fails, and the one when it is back.
DELIVERY_DOWN = "Cross-process delivery (Redis) unavailable"
DELIVERY_BACK = "Cross-process delivery (Redis) is available again"


def test_redis_outage_heals_within_5_seconds_with_one_warning(django_db_setup, clients):
    """Redis dies for 8 s under a trickle of broadcasts: each process keeps serving its own clients, new
    subscriptions succeed, nobody gets an error, each process logs one warning for the outage (python-socketio's
    per-message and per-retry errors are gone), and broadcasts cross processes again within 5 s of Redis returning
    (python-socketio's own reconnection backoff would have grown to 8 s by then)."""
    require(shutil.which("redis-server"), "redis-server is not installed")
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    redis_process = start_redis(port)
    servers = []
    try:
        wait_for_redis(url)
        env = cluster_env(url)
        servers = [LiveServer(settings_module="tests.settings_redis", env=env).start() for _ in range(2)]
        wait_until_linked(servers)
        channel = f"presence/outage-{uuid.uuid4().hex[:6]}"
        local = clients(servers[0], channel, auth={"name": "local"})
        remote = clients(servers[1], channel, auth={"name": "remote"})
        sent = itertools.count()

        def trickle(tag):
            """One broadcast from each process; both must be acknowledged."""
            n = next(sent)
            assert local.call(channel, "message", {"text": f"{tag}-local {n}"}) == {"ok": True}
            assert remote.call(channel, "message", {"text": f"{tag}-remote {n}"}) == {"ok": True}

        def crossed(tag):
            """Whether each side received a broadcast tagged ``tag`` from the other process."""
            return f"{tag}-local" in {t.split()[0] for t in texts(remote, channel)} and f"{tag}-remote" in {
                t.split()[0] for t in texts(local, channel)
            }

        trickle("before")
        wait_until(lambda: crossed("before"), message="broadcasts did not cross before the outage")

        redis_process.kill()
        redis_process.wait()
        killed = time.monotonic()
        newcomers = []
        while time.monotonic() - killed < 8:
            trickle("during")
            if len(newcomers) < 4:  # new subscriptions while Redis is down, on both processes
                newcomers.append(clients(servers[len(newcomers) % 2], channel, auth={"name": f"new{len(newcomers)}"}))
            time.sleep(0.1)
        assert not crossed("during")
        assert "during-local" == texts(local, channel)[-1].split()[0]  # each process still delivers its own

        returned = time.monotonic()
        redis_process = start_redis(port)
        while not crossed("after") and time.monotonic() - returned < 30:
            trickle("after")
            time.sleep(0.1)
        healed = time.monotonic() - returned
        assert healed < HEAL_BOUND, f"broadcasts crossed processes {healed:.1f} s after Redis returned"

        for client in [local, remote, *newcomers]:
            assert {} == client.connect_errors
            assert [] == client.received(channel, "error")
        for server in servers:
            server.wait_for_output(re.escape(DELIVERY_BACK), timeout=5)
            log = server.log()
            assert [1, 1] == [log.count(DELIVERY_DOWN), log.count(DELIVERY_BACK)], log
            assert ("Cannot publish", "Cannot receive", "Traceback") == tuple(
                line for line in ("Cannot publish", "Cannot receive", "Traceback") if line not in log
            ), log
    finally:
        for server in servers:
            server.stop()
        redis_process.kill()
        redis_process.wait()


def test_rate_limits_are_cluster_wide_with_a_redis_backend(cluster, clients):
    """With a Redis BACKEND, RateLimitMixin counts in Redis: two processes share one budget per IP."""
    channel = f"ip-limited/{uuid.uuid4().hex[:8]}"
    first = clients(cluster[0], channel)
    second = clients(cluster[1], channel)

    assert first.call(channel, "message", {}) == {"ok": True}
    assert second.call(channel, "message", {}) == {"ok": True}
    assert first.call(channel, "message", {}) == {"ok": True}
    assert second.call(channel, "message", {})["error"]["code"] == "rate_limited"


#: How soon a logout or disconnect_user must end the subscriptions, wherever they live (the issue's bound).
LOGOUT_BOUND = 1.0


def seconds_until_ended(channel, *subscribers):
    """Wait until the subscription to ``channel`` of each of ``subscribers`` has ended; return how long it took."""
    started = time.monotonic()
    wait_until(
        lambda: all(channel in client.disconnects for client in subscribers),
        timeout=5,
        interval=0.01,
        message=lambda: [client.events for client in subscribers],
    )
    return time.monotonic() - started


def test_logout_in_one_process_ends_the_subscription_in_another(cluster, clients):
    """Logging out through the logout view of process A ends alice's members subscription on process B within
    1 s with logged_out; bob's, on B too, carries on."""
    from .test_identity import LOGGED_OUT, log_out

    channel = f"members/logout-{uuid.uuid4().hex[:6]}"
    cookie = session_cookie(f"alice-{uuid.uuid4().hex[:6]}")
    alice = clients(cluster[1], channel, headers={"Cookie": cookie})
    bob = clients(cluster[1], channel, headers={"Cookie": session_cookie(f"bob-{uuid.uuid4().hex[:6]}")})
    alice.wait_for(channel, "welcome")

    log_out(cluster[0].url, cookie)
    elapsed = seconds_until_ended(channel, alice)

    assert elapsed < LOGOUT_BOUND, f"alice's subscription ended {elapsed:.2f} s after the logout"
    assert [LOGGED_OUT] == alice.received(channel, "error")
    assert {"ok": True} == bob.call(channel, "message", {})
    assert ([], []) == (bob.received(channel, "error"), bob.disconnects)


def test_disconnect_user_ends_subscriptions_in_every_process(cluster, clients):
    """disconnect_user() called in process A ends alice's subscriptions on B (websocket) and C (polling) within
    1 s with logged_out."""
    import requests

    from .test_identity import LOGGED_OUT

    channel = f"members/ban-{uuid.uuid4().hex[:6]}"
    name = f"alice-{uuid.uuid4().hex[:6]}"
    cookie = session_cookie(name)
    on_b = clients(cluster[1], channel, headers={"Cookie": cookie})
    on_c = WireClient(cluster[2].url, transport="polling").connect(channel, headers={"Cookie": cookie})
    try:
        for client in (on_b, on_c):
            client.wait_for(channel, "welcome")
        response = requests.post(cluster[0].url + "/disconnect-user/", data=json.dumps({"username": name}), timeout=10)
        assert 200 == response.status_code
        elapsed = seconds_until_ended(channel, on_b, on_c)
        assert elapsed < LOGOUT_BOUND, f"alice's subscriptions ended {elapsed:.2f} s after disconnect_user"
        assert ([LOGGED_OUT], [LOGGED_OUT]) == (on_b.received(channel, "error"), on_c.received(channel, "error"))
    finally:
        on_c.close()


DISCONNECTER = """
import django, sys
django.setup()
from django.contrib.auth.models import User
import socketio_views
from socketio_views.transport.server import server_exists
socketio_views.disconnect_user(User.objects.get(username=sys.argv[1]))
print("server_created", server_exists())
"""


def test_disconnect_user_from_a_process_without_socket_server(cluster, clients):
    """disconnect_user() in a plain Django process (a management command, a task) publishes through a write-only
    manager: alice's subscriptions on B and C end with logged_out, and no socket server is created there."""
    from django.db import connection

    from .test_identity import LOGGED_OUT

    channel = f"members/script-{uuid.uuid4().hex[:6]}"
    name = f"alice-{uuid.uuid4().hex[:6]}"
    cookie = session_cookie(name)
    on_b = clients(cluster[1], channel, headers={"Cookie": cookie})
    on_c = clients(cluster[2], channel, headers={"Cookie": cookie})
    for client in (on_b, on_c):
        client.wait_for(channel, "welcome")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings_redis",
        "SOCKETIO_VIEWS_TEST_DB": connection.settings_dict["NAME"],
        **cluster[0].env,
    }
    result = subprocess.run(
        [sys.executable, "-c", DISCONNECTER, name], env=env, capture_output=True, text=True, timeout=60, check=True
    )

    assert "server_created False" == result.stdout.strip().splitlines()[-1]
    assert seconds_until_ended(channel, on_b, on_c) < LOGOUT_BOUND
    assert ([LOGGED_OUT], [LOGGED_OUT]) == (on_b.received(channel, "error"), on_c.received(channel, "error"))


def test_deactivating_a_user_in_one_process_ends_their_subscriptions_in_another(cluster, clients):
    """is_active = False saved in process A ends alice's members subscription on B (websocket) and C (polling)
    within 1 s with access_revoked; bob's, on B too, carries on."""
    from .test_identity import ACCESS_REVOKED, change_user

    channel = f"members/revoke-{uuid.uuid4().hex[:6]}"
    name = f"alice-{uuid.uuid4().hex[:6]}"
    cookie = session_cookie(name)
    on_b = clients(cluster[1], channel, headers={"Cookie": cookie})
    on_c = WireClient(cluster[2].url, transport="polling").connect(channel, headers={"Cookie": cookie})
    bob = clients(cluster[1], channel, headers={"Cookie": session_cookie(f"bob-{uuid.uuid4().hex[:6]}")})
    try:
        for client in (on_b, on_c, bob):
            client.wait_for(channel, "welcome")
        change_user(cluster[0].url, username=name, is_active=False)
        elapsed = seconds_until_ended(channel, on_b, on_c)
        assert elapsed < LOGOUT_BOUND, f"alice's subscriptions ended {elapsed:.2f} s after the save"
        assert ([ACCESS_REVOKED], [ACCESS_REVOKED]) == (on_b.received(channel, "error"), on_c.received(channel, "error"))
        assert {"ok": True} == bob.call(channel, "message", {})
        assert ([], []) == (bob.received(channel, "error"), bob.disconnects)
    finally:
        on_c.close()
