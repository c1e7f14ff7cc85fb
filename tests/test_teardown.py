"""Teardown under mass disconnection: no re-entry, every on_disconnect runs, every leave is announced."""
import json
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from socketio_views.testing import LiveServer

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


def test_a_mass_ping_timeout_leaves_the_witness_its_latency(server):
    """300 subscribers of one room, whose on_disconnect tells the room, time out together: their teardowns run in batches, and a witness elsewhere keeps short round trips."""
    from .test_limits import Witness

    channel = f"rooms/mass-{uuid.uuid4().hex[:6]}"
    member = WireClient(server.url).connect(channel, auth={"name": "member"})
    witness = None
    try:
        with ThreadPoolExecutor(32) as pool:
            list(pool.map(lambda n: vanishing_polling_subscriber(server.url, channel, f"ghost{n}"), range(300)))
        witness = Witness(server.url)
        wait_until(
            lambda: len(member.received(channel, "left")) >= 300,
            timeout=30,
            message=lambda: f"the member heard {len(member.received(channel, 'left'))} leave",
        )
        worst = witness.stop()
        witness = None
        print(f"300 ping timeouts: witness worst round trip {worst * 1000:.0f} ms")
        assert worst < 0.5
    finally:
        if witness is not None:
            witness.stop()
        member.close()
