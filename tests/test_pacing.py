"""Work that arrives in crowds waits for turns of the event loop with time left: the established connections are served first."""
import time
import uuid

import pytest

from socketio_views.testing import LiveServer

from .test_limits import WitnessProcess
from .test_teardown import SampledWitness
from .wire import raw_socket

CROWD = 400


@pytest.fixture
def server(django_db_setup):
    server = LiveServer().start()
    yield server
    server.stop()


def confirmed(ws, channel, deadline):
    """Read ``ws`` until its subscription to ``channel`` is confirmed (answering pings), or ``deadline``."""
    while time.monotonic() < deadline:
        frame = ws.recv()
        if frame == "2":
            ws.send("3")
        elif frame.startswith(f"40/{channel},"):
            return True
        elif frame.startswith(f"44/{channel},"):
            raise AssertionError(f"refused: {frame}")
    return False


@pytest.mark.django_db(transaction=True)
def test_a_crowd_subscribing_at_once_leaves_the_witness_its_latency(server):
    """400 open connections subscribe in the same instant to a channel whose ``on_subscribe`` computes for 5 ms on the hub.

    Decided as they are read, the 400 would make one turn of the event loop
    of 2 s, and a witness elsewhere would wait that long; decided in turns
    (MAX_SUBSCRIPTIONS_IN_PROGRESS, pacing.TURN_SLICE), the witness is read
    and answered between them.
    """
    channel = f"welcome/crowd-{uuid.uuid4().hex[:6]}"
    crowd = [raw_socket(server.url) for _ in range(CROWD)]
    witness = WitnessProcess(server.url, SampledWitness)
    try:
        time.sleep(0.3)
        sent = time.time()
        for n, ws in enumerate(crowd):
            ws.send(f'40/{channel},{{"name": "c{n}"}}')
        deadline = time.monotonic() + 30
        joined = sum(confirmed(ws, channel, deadline) for ws in crowd)
        took = time.time() - sent
        time.sleep(0.3)
    finally:
        report = witness.stop()
        for ws in crowd:
            ws.close()
    assert joined == CROWD
    assert "samples" in report, f"the witness failed: {report['error']}"
    during = [seconds for started, seconds in report["samples"] if started >= sent]
    worst = max(during)
    print(f"{CROWD} subscriptions in {took:.2f} s: witness worst round trip {worst * 1000:.0f} ms ({len(during)} round trips)")
    assert len(during) > 10
    assert worst < 0.5
