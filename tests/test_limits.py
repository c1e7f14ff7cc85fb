"""Limits on what one connection may cost the others."""
import threading
import time
import uuid

import pytest
from django.test import override_settings

from socketio_views.testing import ChannelTestClient, SubscriptionRefused

from .wire import WireClient, raw_socket


def test_subscriptions_per_connection_are_capped():
    """Past MAX_SUBSCRIPTIONS a subscription is refused with too_many_subscriptions; leaving one makes room."""
    with override_settings(SOCKETIO_VIEWS={"MAX_SUBSCRIPTIONS": 2}):
        client = ChannelTestClient()
        first = client.subscribe("signals/a")
        client.subscribe("signals/b")
        with pytest.raises(SubscriptionRefused) as refused:
            client.subscribe("signals/c")
        assert refused.value.code == "too_many_subscriptions"
        assert "already holds 2 subscriptions" in refused.value.message
        first.unsubscribe()
        client.subscribe("signals/c")
        ChannelTestClient().subscribe("signals/a")  # another connection has its own count


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))


class Witness:
    """Two clients in their own channel, one asking the other's server a round trip every 20 ms; the slowest is kept."""

    def __init__(self, url):
        self.channel = f"rooms/witness-{uuid.uuid4().hex[:6]}"
        self.client = WireClient(url).connect(self.channel, auth={"name": "witness"})
        self.worst = 0.0
        self.running = True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while self.running:
            started = time.monotonic()
            self.client.call(self.channel, "message", {"text": "tick"}, timeout=30)
            self.worst = max(self.worst, time.monotonic() - started)
            time.sleep(0.02)

    def stop(self):
        self.running = False
        self.thread.join(35)
        self.client.close()
        return self.worst


@pytest.mark.django_db(transaction=True)
def test_a_subscription_flood_is_refused_past_the_cap_without_hurting_others(live_channels_server):
    """3,000 pipelined subscriptions on one connection: refused past 100 with a code, the witness unharmed, RSS flat."""
    witness = Witness(live_channels_server.url)
    pid = live_channels_server.process.pid
    rss_before = rss_kb(pid)
    ws = raw_socket(live_channels_server.url)
    try:
        started = time.monotonic()
        for n in range(3000):
            ws.send(f'40/rooms/flood-{n},{{"name": "f"}}')
        refused = accepted = 0
        while refused + accepted < 3000 and time.monotonic() - started < 10:
            frame = ws.recv()
            if frame.startswith("44/") and "too_many_subscriptions" in frame:
                refused += 1
            elif frame.startswith("40/"):
                accepted += 1
        elapsed = time.monotonic() - started
        rss_growth_mb = (rss_kb(pid) - rss_before) / 1024
    finally:
        ws.close()
        worst = witness.stop()
    print(f"flood answered in {elapsed:.2f} s; witness worst round trip {worst * 1000:.0f} ms; RSS +{rss_growth_mb:.1f} MB")
    assert (accepted, refused) == (100, 2900)
    assert elapsed < 2
    assert worst < 0.2
    assert rss_growth_mb < 50


def close_wait_sockets(port):
    """Server-side sockets of ``port`` stuck in CLOSE_WAIT (the client left, the server never closed)."""
    import subprocess

    out = subprocess.run(["ss", "-Htan", "state", "close-wait", f"( sport = :{port} )"], capture_output=True, text=True)
    return [line for line in out.stdout.splitlines() if line.strip()]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("body", ["7", "4x", "x" * 200_000])
def test_a_bad_polling_post_without_a_pending_get_is_answered_at_once(live_channels_server, body):
    """A polling POST carrying a bad packet (or too large) gets HTTP 400 within a second, with no GET pending."""
    import requests

    base = f"{live_channels_server.url}/socket.io/?EIO=4&transport=polling"
    with requests.Session() as http:
        sid = __import__("json").loads(http.get(base, timeout=5).text[1:])["sid"]
        started = time.monotonic()
        response = http.post(f"{base}&sid={sid}", data=body, timeout=5)
        assert response.status_code == 400
        assert time.monotonic() - started < 1


@pytest.mark.django_db(transaction=True)
def test_a_thousand_bad_posts_leave_no_socket_behind(django_db_setup):
    """1,000 sessions each sending a bad POST leave no server socket in CLOSE_WAIT."""
    from concurrent.futures import ThreadPoolExecutor

    import requests

    from socketio_views.testing import LiveServer

    from .waiting import wait_until

    with LiveServer() as server:
        base = f"{server.url}/socket.io/?EIO=4&transport=polling"

        def bad_post(_):
            with requests.Session() as http:
                sid = __import__("json").loads(http.get(base, timeout=10).text[1:])["sid"]
                return http.post(f"{base}&sid={sid}", data="7", timeout=10).status_code

        with ThreadPoolExecutor(16) as pool:
            assert set(pool.map(bad_post, range(1000))) == {400}
        port = int(server.url.rsplit(":", 1)[1])
        wait_until(lambda: not close_wait_sockets(port), timeout=10, message=lambda: f"{len(close_wait_sockets(port))} in CLOSE_WAIT")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("frame", ["x", "", "9garbage"])
def test_a_garbage_websocket_frame_closes_its_connection_cleanly(live_channels_server, frame):
    """A frame that is no Engine.IO packet closes that connection at once, with one log line and no traceback; its presence leaves at once."""
    channel = f"presence/garbage-{uuid.uuid4().hex[:6]}"
    witness = WireClient(live_channels_server.url).connect(channel, auth={"name": "witness"})
    ws = raw_socket(live_channels_server.url)
    try:
        ws.send(f'40/{channel},{{"name": "garbage"}}')
        witness.wait_for(channel, "presence_diff")
        start = live_channels_server.mark()
        ws.send(frame)
        diffs = witness.wait_for(channel, "presence_diff", count=2, timeout=2)
        assert diffs[1]["leaves"][0]["user"] == "garbage"
        lines = live_channels_server.lines_since(start)
        assert [line for line in lines if "Traceback" in line] == []
        assert len([line for line in lines if "not an Engine.IO packet" in line]) == 1
    finally:
        ws.close()
        witness.close()


@pytest.mark.django_db(transaction=True)
def test_a_slow_postgresql_query_does_not_block_other_connections(live_channels_server):
    """Five connections each run SELECT pg_sleep(0.2) three times at once: they overlap, and the witness stays under 150 ms."""
    witness = Witness(live_channels_server.url)
    sleepers = {f"db/{n}": WireClient(live_channels_server.url).connect(f"db/{n}") for n in range(5)}
    rounds, replies = [], []

    def sleep(channel):
        replies.append(sleepers[channel].call(channel, "pg_sleep", {"seconds": 0.2}))

    try:
        for _ in range(3):
            started = time.monotonic()
            threads = [threading.Thread(target=sleep, args=(channel,)) for channel in sleepers]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(10)
            rounds.append(time.monotonic() - started)
    finally:
        for sleeper in sleepers.values():
            sleeper.close()
        worst = witness.stop()
    print(f"rounds of 5 x pg_sleep(0.2): {', '.join(f'{r:.2f}' for r in rounds)} s; witness worst {worst * 1000:.0f} ms")
    assert [{"wait": "wait_poll"}] * 15 == replies
    assert max(rounds) < 0.6  # serialised, a round would take at least 1 s
    assert worst < 0.15
