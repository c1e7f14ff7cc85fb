"""Work that arrives in crowds waits for turns of the event loop with time left: the established connections are served first."""
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import gevent
import pytest
import websocket
from gevent import monkey

from socketio_views.testing import LiveServer
from socketio_views.transport import pacing

from .test_limits import WitnessProcess
from .test_teardown import SampledWitness
from .wire import raw_socket

CROWD = 400


@pytest.fixture
def server(django_db_setup):
    server = LiveServer().start()
    yield server
    server.stop()


def assert_witness_served(report, since, what):
    """The witness's round trips begun from ``since`` on: more than 10, the slowest under 0.5 s."""
    assert "samples" in report, f"the witness failed: {report['error']}"
    during = [seconds for started, seconds in report["samples"] if started >= since]
    worst = max(during)
    summary = f"{what}: witness worst round trip {worst * 1000:.0f} ms ({len(during)} round trips)"
    print(summary)
    assert len(during) > 10, summary
    assert worst < 0.5, summary


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
    assert_witness_served(report, sent, f"{CROWD} subscriptions in {took:.2f} s")


@pytest.mark.django_db(transaction=True)
def test_broadcasts_held_while_a_subscription_is_decided_follow_its_confirmation(server):
    """Messages sent to a room while a new subscriber's ``on_subscribe`` runs (0.3 s) reach it after its confirmation, in order."""
    channel = f"slow-welcome/order-{uuid.uuid4().hex[:6]}"
    member = raw_socket(server.url)
    newcomer = raw_socket(server.url)
    try:
        member.send(f'40/{channel},{{"name": "member"}}')
        assert confirmed(member, channel, time.monotonic() + 10)
        newcomer.send(f'40/{channel},{{"name": "newcomer"}}')
        time.sleep(0.1)  # its on_subscribe runs: what is sent now is owed to it (sent before, it would not be)
        for n in range(5):
            member.send(f'42/{channel},["message",{{"text":"m{n}"}}]')
            time.sleep(0.02)
        frames, deadline = [], time.monotonic() + 10
        while len([f for f in frames if '"text":"m' in f]) < 5:
            assert time.monotonic() < deadline, f"the newcomer got {frames}"
            frame = newcomer.recv()
            if frame == "2":
                newcomer.send("3")
            elif frame.startswith(f"4") and f"/{channel}," in frame:
                frames.append(frame)
    finally:
        member.close()
        newcomer.close()
    assert frames[0].startswith(f"40/{channel},"), frames[:3]
    texts = [f.split('"text":"')[1].split('"')[0] for f in frames if '"text":"m' in f]
    assert texts == [f"m{n}" for n in range(5)]


@pytest.fixture
def costly_handshakes_server(django_db_setup):
    server = LiveServer(settings_module="tests.settings_pacing").start()
    yield server
    server.stop()


def costly_handshake(url, seconds, address=None):
    """Open a raw Engine.IO websocket whose handshake computes for ``seconds`` on the server (from ``address``, through the proxy); ``None`` if refused."""
    header = [f"X-Costly-Handshake: {seconds}"] + ([f"X-Forwarded-For: {address}"] if address else [])
    try:
        ws = websocket.create_connection(
            url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket", timeout=30, header=header
        )
    except websocket.WebSocketException:
        return None
    assert ws.recv().startswith("0{")
    return ws


@pytest.mark.django_db(transaction=True)
def test_a_crowd_of_handshakes_at_once_leaves_the_witness_its_latency(costly_handshakes_server):
    """150 handshakes at once whose middleware computes for 20 ms each on the hub: a witness's round trips stay short.

    gevent starts the crowd's greenlets from its callbacks, at least 50 in a
    row before it polls for I/O again: a second at a time, if each ran its
    handshake as it started. Each waits for a turn with time left instead.
    """
    server = costly_handshakes_server
    witness = WitnessProcess(server.url, SampledWitness)
    try:
        time.sleep(0.3)
        sent = time.time()
        with ThreadPoolExecutor(150) as pool:
            crowd = list(pool.map(lambda _: costly_handshake(server.url, 0.02), range(150)))
        took = time.time() - sent
        time.sleep(0.3)
    finally:
        report = witness.stop()
    opened = [ws for ws in crowd if ws is not None]
    for ws in opened:
        ws.close()
    assert len(opened) == 150
    assert_witness_served(report, sent, f"150 costly handshakes in {took:.2f} s")


@pytest.mark.django_db(transaction=True)
def test_handshakes_waiting_for_their_turn_count_against_the_address_cap(costly_handshakes_server):
    """50 handshakes at once from one address allowed 10 connections: while they wait for their turn they count, so 10 are accepted, not all 50."""
    server = costly_handshakes_server
    channel = f"rooms/cap-{uuid.uuid4().hex[:6]}"
    with ThreadPoolExecutor(50) as pool:
        crowd = list(pool.map(lambda _: costly_handshake(server.url, 0.01, address="203.0.113.9"), range(50)))
    accepted = refused = 0
    try:
        for ws in crowd:
            ws.send(f'40/{channel},{{"name": "c"}}')
            frame = ws.recv()
            while frame == "2":
                ws.send("3")
                frame = ws.recv()
            if frame.startswith(f"40/{channel},"):
                accepted += 1
            else:
                assert "too_many_connections" in frame, frame
                refused += 1
    finally:
        for ws in crowd:
            ws.close()
    assert (accepted, refused) == (10, 40)


def in_a_new_hub(function):
    """Run ``function`` in a thread of its own, so in a gevent hub and event loop of its own.

    Tests run before may have monkey-patched this process and left greenlets
    in this thread's hub (a client's reader blocking in C), which would hold
    its loop for seconds.
    """
    done = monkey.get_original("_thread", "allocate_lock")()
    done.acquire()
    outcome = {}

    def run():
        try:
            function()
        except BaseException as error:
            outcome["error"] = error
        finally:
            done.release()

    monkey.get_original("_thread", "start_new_thread")(run, ())
    assert done.acquire(timeout=30), "the test did not end"
    if "error" in outcome:
        raise outcome["error"]


def spin(seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        pass


def test_waiting_work_runs_in_order_and_only_while_the_turn_has_time_left():
    """Ten pieces of work of 3 ms each, all waiting for a turn: they run in order of arrival, each started before its turn had run for TURN_SLICE (5 ms), so over several turns."""
    def test():
        loop = gevent.get_hub().loop
        turns = pacing.Turns(loop)
        ran = []

        def work(n):
            turns.wait()
            ran.append((n, turns.turn_started, time.monotonic() - turns.turn_started))
            spin(0.003)

        spin(0.006)  # this turn has no time left: each waits
        greenlets = [gevent.spawn(work, n) for n in range(10)]
        gevent.joinall(greenlets, timeout=5)
        assert [n for n, _, _ in ran] == list(range(10))
        late = [(n, round(into * 1000, 1)) for n, _, into in ran if into >= pacing.TURN_SLICE + 0.002]
        assert not late, f"started this many ms into their turn: {late}"
        assert len({turn for _, turn, _ in ran}) >= 4
        gevent.sleep(0.01)
        assert not turns.waiting and not turns.idle.active

    in_a_new_hub(test)


def test_work_killed_while_it_waits_leaves_the_line():
    def test():
        loop = gevent.get_hub().loop
        turns = pacing.Turns(loop)
        ran = []

        def work(n):
            turns.wait()
            ran.append(n)

        spin(0.006)
        first, second = gevent.spawn(work, 1), gevent.spawn(work, 2)
        gevent.sleep(0)  # both wait now
        assert len(turns.waiting) == 2
        first.kill()
        second.join(5)
        assert ran == [2]
        assert not turns.waiting

    in_a_new_hub(test)


def test_subscriptions_hold_at_most_their_slots():
    def test():
        subscriptions = pacing.SubscriptionTurns(2)
        inside, most = [0], [0]

        def subscribe():
            with subscriptions.turn():
                inside[0] += 1
                most[0] = max(most[0], inside[0])
                gevent.sleep(0.01)
                inside[0] -= 1

        gevent.joinall([gevent.spawn(subscribe) for _ in range(6)], timeout=5)
        assert most[0] == 2

    in_a_new_hub(test)
