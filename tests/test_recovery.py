"""Connection state recovery with the official socket.io-client, real servers and real Redis."""
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest

from socketio_views.testing import LiveServer

from .test_scaleout import cluster_env, redis_url, require, wait_until_linked  # noqa: F401
from .wire import WireClient

pytestmark = pytest.mark.django_db(transaction=True)

SCRIPT = Path(__file__).parent / "node" / "recovering_client.js"


class NodeClient:
    """socket.io-client 4 in a Node process, subscribed to one channel, driven by commands."""

    def __init__(self, url, channel, auth=None):
        require(shutil.which("node"), "node is not installed")
        self.process = subprocess.Popen(
            ["node", str(SCRIPT), url, "/" + channel, json.dumps(auth or {})],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.events = []
        self._arrivals = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.process.stdout:
            self.events.append(json.loads(line))
            self._arrivals.put(None)

    def command(self, line):
        if self.process.poll() is not None:
            return
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def of(self, kind):
        return [e for e in self.events if e["type"] == kind]

    def texts(self):
        return [e["data"]["text"] for e in self.of("message")]

    def wait_for(self, kind, count=1, timeout=15):
        deadline = time.monotonic() + timeout
        while len(self.of(kind)) < count:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"expected {count} {kind!r} within {timeout}s; got {self.events[-5:]}"
            try:
                self._arrivals.get(timeout=remaining)
            except queue.Empty:
                pass
        return self.of(kind)

    def wait_for_texts(self, count, timeout=15):
        self.wait_for("message", count, timeout)
        return self.texts()

    def close(self):
        if self.process.poll() is None:
            self.command("quit")
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process.stdin.close()
        self.process.stdout.close()


@pytest.fixture
def node_clients():
    opened = []

    def make(url, channel, **kwargs):
        opened.append(NodeClient(url, channel, **kwargs))
        return opened[-1]

    yield make
    for client in opened:
        client.close()


@pytest.fixture
def subscribed(node_clients):
    """A Node subscriber and a publisher on a new channel; the subscriber has received "before"."""
    publishers = []

    def make(node_url, publisher_url, prefix="history"):
        channel = f"{prefix}/{uuid.uuid4().hex[:8]}"
        node = node_clients(node_url, channel)
        assert node.wait_for("connect")[0]["recovered"] is False
        publishers.append(WireClient(publisher_url).connect(channel))
        publish(publishers[-1], channel, ["before"])
        assert node.wait_for_texts(1) == ["before"]
        return channel, node, publishers[-1]

    yield make
    for publisher in publishers:
        publisher.close()


def publish(publisher, channel, texts, **extra):
    """Broadcast each text; return once the server has handled (and kept) them all.

    Events of one connection are handled in order, so the acknowledgement of
    one says that those before it were handled too. Every hundredth is a
    call: the timeout bounds a stall of the server, not how long a loaded
    machine takes for the whole batch (a thousand 4 KB broadcasts took about
    a second at a load average of 4 on 2 cores, and over the 5 s of one call
    on a busier machine).
    """
    for n, text in enumerate(texts):
        if n % 100 == 99 or n == len(texts) - 1:
            assert publisher.call(channel, "message", {"text": text, **extra}) == {"ok": True}
        else:
            publisher.emit(channel, "message", {"text": text, **extra})


def test_recovery_after_three_drops_in_a_row(live_channels_server, subscribed):
    """Each time the transport drops, 20 messages sent meanwhile arrive once, in order, with recovered true."""
    channel, node, publisher = subscribed(live_channels_server.url, live_channels_server.url)
    expected = ["before"]
    for round in range(1, 4):
        node.command("drop")
        node.wait_for("disconnect", round)
        missed = [f"missed {round}.{n}" for n in range(20)]
        publish(publisher, channel, missed)
        node.command("reconnect")
        assert node.wait_for("connect", round + 1)[-1]["recovered"] is True
        publish(publisher, channel, [f"live {round}"])
        expected += missed + [f"live {round}"]
        assert node.wait_for_texts(len(expected)) == expected
    offsets = [e["offset"] for e in node.of("message")]
    assert all(offsets) and len(set(offsets)) == len(offsets)


def test_replay_and_live_traffic_meet_without_gap_or_duplicate(live_channels_server, subscribed):
    """While 1,000 missed messages are replayed, a publisher sends 200 a second: every message arrives once, in order."""
    channel, node, publisher = subscribed(live_channels_server.url, live_channels_server.url)
    ticker = WireClient(live_channels_server.url).connect(channel)
    try:
        node.command("drop")
        node.wait_for("disconnect")
        missed = [f"missed {n}" for n in range(1000)]
        publish(publisher, channel, missed, padding="x" * 4000)  # 4 MB to replay: live traffic arrives meanwhile
        live = [f"live {n}" for n in range(400)]

        def tick():
            for text in live:
                ticker.emit(channel, "message", {"text": text})
                time.sleep(0.005)

        thread = threading.Thread(target=tick)
        thread.start()
        time.sleep(0.3)  # the reconnection lands in the middle of the live traffic
        node.command("reconnect")
        thread.join(20)
        assert node.wait_for("connect", 2)[-1]["recovered"] is True
        assert node.wait_for_texts(1 + 1000 + 400, timeout=30) == ["before"] + missed + live
    finally:
        ticker.close()


@pytest.fixture
def redis_cluster(redis_url, django_db_setup):  # noqa: F811
    env = cluster_env(redis_url)
    servers = [LiveServer(settings_module="tests.settings_redis", env=env).start() for _ in range(2)]
    wait_until_linked(servers)
    yield servers, env
    for server in servers:
        server.stop()


def test_recovery_across_a_sigkill_and_restart(redis_cluster, subscribed):
    """The process holding the subscriber is SIGKILLed; 20 messages go out from another; the restarted process replays them."""
    (first, second), env = redis_cluster
    channel, node, publisher = subscribed(first.url, second.url)
    port = first.url.rsplit(":", 1)[1]
    os.killpg(first.process.pid, signal.SIGKILL)
    first.process.wait(10)
    node.wait_for("disconnect")
    missed = [f"missed {n}" for n in range(20)]
    publish(publisher, channel, missed)
    restarted = LiveServer(settings_module="tests.settings_redis", env=env, port=int(port)).start()
    try:
        node.command("reconnect")
        assert node.wait_for("connect", 2)[-1]["recovered"] is True
        assert node.wait_for_texts(21) == ["before"] + missed
    finally:
        restarted.stop()


def test_recovery_on_another_process(redis_cluster, subscribed):
    """A client that reconnects to another process recovers what was broadcast meanwhile."""
    (first, second), _env = redis_cluster
    channel, node, publisher = subscribed(first.url, first.url)
    node.command("drop")
    node.wait_for("disconnect")
    missed = [f"missed {n}" for n in range(20)]
    publish(publisher, channel, missed)
    node.command(f"reconnect {second.url}")
    assert node.wait_for("connect", 2)[-1]["recovered"] is True
    assert node.wait_for_texts(21) == ["before"] + missed
    publish(publisher, channel, ["after"])
    assert node.wait_for_texts(22)[-1] == "after"


def test_replay_and_live_traffic_through_redis_meet_without_gap_or_duplicate(redis_cluster, subscribed):
    """Reconnecting to one process, five times, while another publishes about 1,000 a second: what was missed is
    replayed from Redis, and what comes through pub/sub meanwhile and just after is neither lost nor delivered twice."""
    (first, second), _env = redis_cluster
    channel, node, publisher = subscribed(first.url, second.url)
    ticker = WireClient(second.url).connect(channel)
    expected = ["before"]
    try:
        for round in range(5):
            node.command("drop")
            node.wait_for("disconnect", round + 1)
            missed = [f"missed {round}.{n}" for n in range(20)]
            publish(publisher, channel, missed)
            # A short replay ends while broadcasts are on their way through pub/sub: some of them are in the
            # history it read (the dedupe after the replay must drop them), some are not.
            live = [f"live {round}.{n}" for n in range(1000)]
            started = threading.Event()

            def tick():
                for n, text in enumerate(live):
                    ticker.emit(channel, "message", {"text": text})
                    if n == 100:
                        started.set()
                    time.sleep(0.001)

            thread = threading.Thread(target=tick)
            thread.start()
            started.wait(10)
            node.command("reconnect")
            thread.join(30)
            assert node.wait_for("connect", round + 2)[-1]["recovered"] is True
            expected += missed + live
            assert node.wait_for_texts(len(expected), timeout=30) == expected
        time.sleep(0.5)  # a duplicate would follow at once
        assert node.texts() == expected
    finally:
        ticker.close()


@pytest.mark.parametrize("claim", [{"pid": "unknown"}, {"pid": "unknown", "offset": "1-0"}, {"pid": 7, "offset": []}])
def test_an_unknown_pid_gives_a_fresh_subscription(live_channels_server, claim):
    """A pid the server does not know (or garbage) subscribes afresh: not recovered, and the view knows why."""
    channel = f"history/{uuid.uuid4().hex[:8]}"
    client = WireClient(live_channels_server.url).connect(channel, auth=claim)
    try:
        assert client.call(channel, "whoami") == {"recovered": False, "recovery_failure": "unknown_session"}
    finally:
        client.close()


@pytest.mark.parametrize("cause", ["history_lost", "expired"])
def test_refused_recoveries_over_the_wire(live_channels_server, subscribed, cause):
    """Offset older than the kept history, or a session past its recovery window: a fresh subscription, recovered false."""
    channel, node, publisher = subscribed(live_channels_server.url, live_channels_server.url, prefix="short-history")
    node.command("drop")
    node.wait_for("disconnect")
    if cause == "history_lost":
        publish(publisher, channel, [f"missed {n}" for n in range(10)])  # history = 5
    else:
        time.sleep(3.5)  # recovery_window = 2
        publish(publisher, channel, ["missed"])
    node.command("reconnect")
    assert node.wait_for("connect", 2)[-1]["recovered"] is False
    publish(publisher, channel, ["after"])
    assert node.wait_for_texts(2) == ["before", "after"]  # nothing replayed


def session_cookie(username):
    from django.contrib.auth.models import User
    from django.test import Client

    client = Client()
    client.force_login(User.objects.create_user(username))
    return f"sessionid={client.cookies['sessionid'].value}"


def test_another_users_pid_recovers_nothing_over_the_wire(live_channels_server):
    """Mallory presenting alice's pid and offset gets a fresh subscription (other_user) and none of alice's messages."""
    channel = f"history/{uuid.uuid4().hex[:8]}"
    alice = WireClient(live_channels_server.url)
    pids = {}
    handle_connect = alice.sio._handle_connect

    def remember_pid(namespace, data):
        pids[namespace] = (data or {}).get("pid")
        handle_connect(namespace, data)

    alice.sio._handle_connect = remember_pid
    alice.connect(channel, headers={"Cookie": session_cookie("alice")})
    publisher = WireClient(live_channels_server.url).connect(channel)
    mallory = WireClient(live_channels_server.url)
    try:
        publish(publisher, channel, ["for alice"])
        alice.wait_for(channel, "message")
        (_channel, _event, offset) = alice.offsets[0]
        alice.drop()  # alice's session waits for her
        publish(publisher, channel, ["missed by alice"])
        mallory.connect(
            channel, auth={"pid": pids["/" + channel], "offset": offset}, headers={"Cookie": session_cookie("mallory")}
        )
        assert mallory.call(channel, "whoami") == {"recovered": False, "recovery_failure": "other_user"}
        assert mallory.received(channel, "message") == []
    finally:
        for client in (alice, publisher, mallory):
            if client.sio.connected:
                client.close()


@pytest.fixture
def redis_server(redis_url, django_db_setup):  # noqa: F811
    """One runserver_socketio process whose history and recovery sessions are in Redis."""
    with LiveServer(settings_module="tests.settings_redis", env=cluster_env(redis_url)) as server:
        yield server


#: Offsets a client may make up that Redis refuses (too long, past 64 bits, not ASCII digits), and a 10 KB one.
MADE_UP_OFFSETS = ["1" * 21 + "-0", "18446744073709551616-0", "0-18446744073709551616", "١٢-0", "1-" + "9" * 10_000]


def test_a_made_up_offset_is_refused_cleanly_over_the_wire(redis_server):
    """A real session claimed with an offset Redis would refuse: a fresh subscription (invalid_offset), no history
    outage, one log line per connection and burst however many claims; the session still recovers afterwards."""
    from .test_bounds import open_socket, subscribe_remembering_pid, vanish

    channel = f"history/{uuid.uuid4().hex[:8]}"
    alice, pid = subscribe_remembering_pid(redis_server.url, channel)
    publisher = WireClient(redis_server.url).connect(channel)
    claims = []
    try:
        publish(publisher, channel, ["before"])
        alice.wait_for(channel, "message")
        (_channel, _event, offset) = alice.offsets[0]
        vanish(redis_server, alice, channel)
        publish(publisher, channel, ["missed"])
        mark = redis_server.mark()
        for made_up in MADE_UP_OFFSETS:
            claims.append(WireClient(redis_server.url).connect(channel, auth={"pid": pid, "offset": made_up}))
            assert {"recovered": False, "recovery_failure": "invalid_offset"} == claims[-1].call(channel, "whoami")
        ws = open_socket(redis_server.url)  # one connection claiming 500 times
        try:
            for n in range(500):
                ws.send(f"40/{channel}," + json.dumps({"pid": pid, "offset": MADE_UP_OFFSETS[n % 5]}))
                while not (packet := ws.recv()).startswith(f"40/{channel},"):
                    if packet == "2":
                        ws.send("3")
                assert pid != json.loads(packet.split(",", 1)[1])["pid"]  # a fresh session, not alice's
                ws.send(f"41/{channel},")
        finally:
            ws.close()
        lines = redis_server.lines_since(mark)
        assert [] == [line for line in lines if "unavailable" in line or "available again" in line or "Traceback" in line]
        refused = [line for line in lines if re.search(r"Recovery of .* refused: invalid_offset", line)]
        assert len(MADE_UP_OFFSETS) + 1 == len(refused), "\n".join(refused)  # one per connection in the burst
        assert all(len(line) < 400 for line in lines), "a line carries the 10 KB offset"
        claims.append(WireClient(redis_server.url).connect(channel, auth={"pid": pid, "offset": offset}))
        assert {"recovered": True, "recovery_failure": None} == claims[-1].call(channel, "whoami")
        assert ["missed"] == [m["text"] for m in claims[-1].wait_for(channel, "message")]
    finally:
        for client in (alice, publisher, *claims):
            client.close()
