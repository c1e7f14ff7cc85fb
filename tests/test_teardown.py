"""Teardown under mass disconnection: no re-entry, every on_disconnect runs, every leave is announced."""
import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from socketio_views.testing import LiveServer

from .test_limits import ThreadWitness, WitnessProcess
from .test_presence import member_names
from .waiting import wait_until
from .wire import WireClient

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def server(django_db_setup):
    server = LiveServer().start()
    yield server
    server.stop()


def vanishing_polling_subscriber(url, channel, name):
    """Open a polling session and subscribe, then never poll again (a client that vanished)."""
    http = requests.Session()
    base = f"{url}/socket.io/?EIO=4&transport=polling"
    handshake = http.get(base, timeout=5).text
    sid = json.loads(handshake[1:])["sid"]
    http.post(f"{base}&sid={sid}", data=f'40/{channel},{json.dumps({"name": name})}', timeout=5)
    assert f"40/{channel}," in http.get(f"{base}&sid={sid}", timeout=5).text
    http.close()


def test_three_hundred_subscribers_timing_out_together(server):
    """300 subscribers time out at once: no RecursionError, and a remaining subscriber ends knowing it is alone.

    Past PRESENCE_LIST_LIMIT (100) it is told counts; back under it, the whole list.
    """
    channel = f"presence/mass-{uuid.uuid4().hex[:6]}"
    witness = WireClient(server.url).connect(channel, auth={"name": "witness"})
    try:
        with ThreadPoolExecutor(32) as pool:  # all within a second or two: they time out together
            list(pool.map(lambda n: vanishing_polling_subscriber(server.url, channel, f"ghost{n}"), range(300)))
        assert len(witness.call(channel, "who")) == 301
        wait_until(
            lambda: member_names(witness, channel) == {"witness"},
            timeout=30,
            message=lambda: f"the witness sees {len(member_names(witness, channel))} present",
        )
        assert 301 == max(data["count"] for data in witness.received(channel, "presence_count"))
        assert witness.call(channel, "who") == [{"sid": witness.sio.get_sid("/" + channel), "user": "witness"}]
        assert not [line for line in server.output if "RecursionError" in line]
    finally:
        witness.close()


class SampledWitness(ThreadWitness):
    """A :class:`~tests.test_limits.ThreadWitness` that reports every round trip, ``(wall-clock start, seconds)``, not only the slowest."""

    def __init__(self, url):
        self.samples = []
        super().__init__(url)

    def _run(self):
        while self.running:
            started, clock = time.time(), time.monotonic()
            try:
                self.client.call(self.channel, "message", {"text": "tick"}, timeout=30)
            except Exception as exc:
                self.samples.append((started, float("inf")))
                self.error = exc
                return
            self.samples.append((started, time.monotonic() - clock))
            time.sleep(0.02)

    def report(self):
        """Stop; return ``{"samples": [(start, seconds), ...], "error": repr or None}``."""
        self.stop()
        return {"samples": self.samples, "error": repr(self.error) if self.error else None}


def test_a_mass_ping_timeout_leaves_the_witness_its_latency(server):
    """300 subscribers of one room, whose on_disconnect computes for 5 ms then tells the room, time out in the same instant: their teardowns run in batches, and a witness elsewhere keeps short round trips.

    A 2.5 s hold of the hub (the test app's /spin/) right after they
    subscribed makes every one's first ping come due during it: then their
    pings go out together, and their timeouts fire together 3 s later
    (tests/settings.py's ping_timeout). Torn down in one go, they would
    hold the hub for 1.5 s.
    """
    channel = f"goodbye/mass-{uuid.uuid4().hex[:6]}"
    member = WireClient(server.url).connect(channel, auth={"name": "member"})
    witness = WitnessProcess(server.url, SampledWitness)
    try:
        with ThreadPoolExecutor(32) as pool:
            list(pool.map(lambda n: vanishing_polling_subscriber(server.url, channel, f"ghost{n}"), range(300)))
        # Past ping_interval (2 s) after the last one subscribed.
        assert 200 == requests.get(server.url + "/spin/?seconds=2.5", timeout=10).status_code
        spun = time.time()
        wait_until(
            lambda: len(member.received(channel, "left")) >= 300,
            timeout=30,
            message=lambda: f"the member heard {len(member.received(channel, 'left'))} leave",
        )
    finally:
        report = witness.stop()
        member.close()
    assert "samples" in report, f"the witness failed: {report['error']}"
    after = [seconds for started, seconds in report["samples"] if started > spun]
    worst = max(after)
    print(f"300 ping timeouts at once: witness worst round trip {worst * 1000:.0f} ms ({len(after)} round trips)")
    assert len(after) > 20
    assert worst < 0.5
