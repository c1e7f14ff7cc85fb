"""
Fuzzing: hostile Engine.IO and Socket.IO traffic, sent raw over websocket and long-polling to a live server.

While hypothesis sends what tests/strategies.py draws, a witness pair in
another channel, in a process of its own, exchanges numbered messages. After
every example the server is alive, printed no traceback and sent none to
anyone, and has ended the fuzzing connection; at the end a fresh client is
served and the witness saw every message once, in order, in bounded time.

``SOCKETIO_VIEWS_FUZZ_EXAMPLES=2000`` runs each test that many examples, new
ones on every run (the default is a fixed, reproducible set sized for CI).
"""
import json
import os
import threading
import time

import pytest
import requests
import websocket
from hypothesis import HealthCheck, Phase, given, settings

from . import strategies
from .test_limits import ThreadWitness, WitnessProcess
from .waiting import wait_until
from .wire import WireClient

# A failing example of 100 kB frames is worth printing all the same.
pytestmark = pytest.mark.filterwarnings("ignore:Generating overly large repr:hypothesis.errors.HypothesisWarning")

#: Examples per test, when set: a longer run, with fresh random examples.
LONGER_RUN = os.environ.get("SOCKETIO_VIEWS_FUZZ_EXAMPLES")

#: The witness's bound: the issue's 200 ms for its delivery and round trip.
WITNESS_LATENCY = 0.2

SENTINEL = "signals/fuzz-sentinel"


def fuzz_settings(examples):
    """Hypothesis settings: ``examples`` reproducible examples, or a longer random run (``SOCKETIO_VIEWS_FUZZ_EXAMPLES``)."""
    return settings(
        max_examples=int(LONGER_RUN or examples),
        deadline=None,  # a live server on a shared machine: time is bounded by the example count
        derandomize=LONGER_RUN is None,
        database=None,  # no example database written into the repository
        phases=(Phase.explicit, Phase.generate, Phase.shrink),
        suppress_health_check=(HealthCheck.too_slow, HealthCheck.large_base_example),
        print_blob=True,
    )


class SequencedWitness(ThreadWitness):
    """A :class:`~tests.test_limits.ThreadWitness` whose messages are numbered, and a second client that must receive each number once, in order."""

    def __init__(self, url):
        self.sent_at = []  # monotonic time at which message n was sent
        self.received = []  # (n, delivery latency) in arrival order
        self.ready = threading.Event()
        super().__init__(url)
        self.receiver = WireClient(url)
        self.receiver.sio.on("message", self._on_message, namespace="/" + self.channel)
        self.receiver.connect(self.channel, auth={"name": "receiver"})
        self.ready.set()

    def _run(self):
        self.ready.wait(10)
        while self.running:
            started = time.monotonic()
            self.sent_at.append(started)
            self.client.call(self.channel, "message", {"text": str(len(self.sent_at) - 1)}, timeout=30)
            self.worst = max(self.worst, time.monotonic() - started)
            time.sleep(0.02)

    def _on_message(self, data):
        if isinstance(data, dict) and data.get("user") == "witness":
            n = int(data["text"])
            self.received.append((n, time.monotonic() - self.sent_at[n]))

    def stop(self):
        """Stop sending, wait for the last delivery; return a summary (its :meth:`report`)."""
        worst_round_trip = super().stop()
        try:
            wait_until(lambda: len(self.received) >= len(self.sent_at), timeout=5, interval=0.01)
        except AssertionError:
            pass  # reported by the caller's assertion on the numbers
        finally:
            self.receiver.close()
        return {
            "sent": len(self.sent_at),
            "received": [n for n, _ in self.received],
            "worst_round_trip": worst_round_trip,
            "worst_delivery": max((latency for _, latency in self.received), default=0.0),
            "tracebacks": "Traceback" in repr(self.client.events) + repr(self.receiver.events),
        }

    def report(self):
        """``{"sent", "received", "worst_round_trip", "worst_delivery", "tracebacks"}``, once stopped."""
        return self.stop()


class Fuzzing:
    """Checks shared by the websocket and polling fuzz tests."""

    def __init__(self, server):
        self.server = server

    def example_checks(self, mark, received, sid):
        """The server is alive, ended connection ``sid`` (with one warning at most), printed no traceback, and sent none in ``received``."""
        assert self.server.process.poll() is None, "the server died:\n" + self.server.log()
        closed = f"Connection {sid} closed"
        try:
            wait_until(lambda: any(closed in line for line in self.server.lines_since(mark)), timeout=3, interval=0.005)
        except AssertionError:
            pass  # reported below, with whatever else went wrong, from one place (hypothesis replays it)
        lines = self.server.lines_since(mark)
        problems = [
            *(["the server printed a traceback"] if any("Traceback" in line for line in lines) else []),
            *([f"the server did not end {sid} after its client left"] if not any(closed in line for line in lines) else []),
            *([f"a client received a traceback: {received}"] if any("Traceback" in text for text in received) else []),
            *([f"{sid} was closed with more than one warning"] if sum(f"Closing connection {sid}:" in line for line in lines) > 1 else []),
        ]
        assert not problems, "; ".join(problems) + "\n" + "\n".join(lines)

    def final_checks(self, witness):
        report = witness.stop()
        assert "error" not in report, report
        print(
            f"witness: {report['sent']} messages, worst round trip {report['worst_round_trip'] * 1000:.0f} ms, "
            f"worst delivery {report['worst_delivery'] * 1000:.0f} ms"
        )
        assert self.server.process.poll() is None
        fresh = WireClient(self.server.url).connect("signals/fresh")
        try:
            assert fresh.call("signals/fresh", "ping") == "pong"
        finally:
            fresh.close()
        assert report["received"] == list(range(report["sent"])), "the witness missed or repeated messages"
        assert report["sent"] > 20
        assert report["worst_round_trip"] < WITNESS_LATENCY
        assert report["worst_delivery"] < WITNESS_LATENCY
        assert not report["tracebacks"]


def pipelined(*texts):
    """Text frames framed and masked as a client sends them, to be written in one go."""
    return b"".join(websocket.ABNF.create_frame(text, websocket.ABNF.OPCODE_TEXT).format() for text in texts)


def send_frames(url, frames, sid=None):
    """Open a raw websocket, send ``frames``, then subscribe to the sentinel; return ``(sid, texts received)``.

    A frame is ``(opcode, data)``, or ``(None, bytes)`` for frames already framed (see :func:`pipelined`).
    With ``sid``, the websocket upgrades that polling session.
    """
    query = "EIO=4&transport=websocket" + (f"&sid={sid}" if sid else "")
    ws = websocket.create_connection(url.replace("http://", "ws://") + "/socket.io/?" + query, timeout=5)
    try:
        received = []
        if sid is None:
            received.append(ws.recv())
            sid = json.loads(received[0][1:])["sid"]
        try:
            for opcode, data in frames:
                if opcode is None:
                    ws.sock.sendall(data)  # frames already framed, pipelined in one write
                else:
                    ws.send(data, opcode)
            ws.send(f"40/{SENTINEL},")
        except (OSError, websocket.WebSocketException):
            pass  # the server closed the connection: what it sent before is read below
        deadline = time.monotonic() + 1
        while time.monotonic() < deadline:
            ws.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                opcode, data = ws.recv_data()
            except (OSError, websocket.WebSocketException):
                break  # closed, or nothing more (an attachment the server still waits for took the sentinel)
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                break
            text = data.decode("utf-8", "replace")
            received.append(text)
            if text.startswith(f"40/{SENTINEL},"):
                break
        return sid, received
    finally:
        try:
            ws.close(timeout=0.2)
        except (OSError, websocket.WebSocketException):
            pass
        ws.shutdown()


def fuzz_live_server(server, strategy, examples, send):
    """Send each example of ``strategy`` with ``send(url, example)`` -> ``(sid, statuses, received)`` while a witness runs; check each, then the whole."""
    fuzzing = Fuzzing(server)
    witness = WitnessProcess(server.url, SequencedWitness)

    @fuzz_settings(examples=examples)
    @given(strategy)
    def fuzz(example):
        mark = server.mark()
        sid, statuses, received = send(server.url, example)
        assert set(statuses) <= {200, 400}, statuses
        fuzzing.example_checks(mark, received, sid)

    try:
        fuzz()
    except BaseException:
        witness.stop()
        raise
    fuzzing.final_checks(witness)


@pytest.mark.django_db(transaction=True)
def test_raw_websocket_frames_never_hurt_the_server(live_channels_server):
    """Hostile websocket frames: the server never dies nor shows a traceback, and the witness stays gap-free."""

    def send(url, frames):
        sid, received = send_frames(url, frames)
        return sid, [], received

    fuzz_live_server(live_channels_server, strategies.websocket_sessions(), 300, send)


def post_body(url, body):
    """Open a polling session, POST ``body``, read what the server sends, close; return ``(sid, statuses, texts)``.

    ``statuses`` holds the status of every request after the handshake, the POST of ``body`` first.
    """
    base = f"{url}/socket.io/?EIO=4&transport=polling"
    with requests.Session() as http:
        opened = http.get(base, timeout=5).text
        sid = json.loads(opened[1:])["sid"]
        session = f"{base}&sid={sid}"
        headers = {"Content-Type": "text/plain;charset=UTF-8"}
        response = http.post(session, data=body.encode() if isinstance(body, str) else body, headers=headers, timeout=5)
        statuses, received = [response.status_code], [opened, response.text]
        response = http.post(session, data=f"40/{SENTINEL},", headers=headers, timeout=5)
        statuses.append(response.status_code)
        if response.status_code == 200:
            for _ in range(3):
                response = http.get(session, timeout=5)
                statuses.append(response.status_code)
                received.append(response.text)
                packets = response.text.split("\x1e")
                if response.status_code != 200 or "1" in packets or any(p.startswith(f"40/{SENTINEL},") for p in packets):
                    break
            statuses.append(http.post(session, data="1", headers=headers, timeout=5).status_code)
        return sid, statuses, received


def upgrade(url, frames):
    """Open a polling session, upgrade it to a websocket that sends ``frames``, close both; return ``(sid, statuses, texts)``."""
    base = f"{url}/socket.io/?EIO=4&transport=polling"
    with requests.Session() as http:
        opened = http.get(base, timeout=5).text
        sid = json.loads(opened[1:])["sid"]
        _, received = send_frames(url, frames, sid=sid)
        # Closes the polling session of a failed upgrade; refused if the upgrade succeeded.
        status = http.post(f"{base}&sid={sid}", data="1", timeout=5).status_code
    return sid, [status], [opened, *received]


@pytest.mark.django_db(transaction=True)
def test_raw_upgrades_never_hurt_the_server(live_channels_server):
    """Hostile frames while and after a polling session upgrades: no traceback, the server lives and the witness stays gap-free."""
    fuzz_live_server(live_channels_server, strategies.upgrade_sessions(), 150, upgrade)


@pytest.mark.django_db(transaction=True)
def test_raw_polling_posts_never_hurt_the_server(live_channels_server):
    """Hostile long-polling bodies: every request answered 200 or 400, never a traceback; the server lives and the witness stays gap-free."""
    fuzz_live_server(live_channels_server, strategies.polling_bodies(), 150, post_body)


# Examples the fuzzing found, kept as regular tests.

#: Nested deeper than json decodes on every supported Python, within MAX_MESSAGE_SIZE
#: (Python 3.12 and 3.13 decode 1,000 levels; 3.11 refuses them).
DEEP_OBJECT = '{"a":' * 15_000 + "1" + "}" * 15_000


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("frame", ["4" + DEEP_OBJECT, "4" + "[" * 50_000, "2" + "[" * 50_000])
def test_a_websocket_packet_too_deep_to_decode_closes_its_connection(live_channels_server, frame):
    """An Engine.IO packet whose JSON nests too deep to decode closes its connection at once, with no traceback."""
    mark = live_channels_server.mark()
    sid, received = send_frames(live_channels_server.url, [(strategies.TEXT, frame)])
    Fuzzing(live_channels_server).example_checks(mark, received, sid)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "body",
    ["x", "d=", b"4\xc0\xaf", b"\xed\xa0\x80", "4" + DEEP_OBJECT, "40\x1ex"],
    ids=["not-a-type", "empty-jsonp", "overlong-utf8", "utf8-surrogate", "too-deep", "second-packet-bad"],
)
def test_a_polling_post_engineio_cannot_decode_is_refused(live_channels_server, body):
    """A POST body python-engineio cannot decode gets HTTP 400 and ends its session, with no traceback."""
    mark = live_channels_server.mark()
    sid, statuses, received = post_body(live_channels_server.url, body)
    assert statuses == [400, 400]  # the POST, then the sentinel's: the session is gone
    Fuzzing(live_channels_server).example_checks(mark, received, sid)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("transport", ["websocket", "polling"])
def test_packets_after_a_refused_one_are_dropped(live_channels_server, transport):
    """A refused packet ends its connection with one warning; the packets read after it are dropped, not refused again."""
    mark = live_channels_server.mark()
    if transport == "websocket":
        sid, received = send_frames(live_channels_server.url, [(None, pipelined("4x", "40/signals/after,"))])
    else:
        sid, statuses, received = post_body(live_channels_server.url, "4x\x1e40/signals/after,")
        assert statuses == [400, 400]
    Fuzzing(live_channels_server).example_checks(mark, received, sid)
    assert not [line for line in live_channels_server.lines_since(mark) if "signals/after" in line]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("auth", ["-1", "[1]", '"alice"', "true"])
def test_a_subscription_whose_auth_is_not_an_object_is_refused(live_channels_server, auth):
    """A CONNECT whose auth is a JSON value but no object is refused with ``invalid`` before the view reads ``self.auth``."""
    mark = live_channels_server.mark()
    sid, received = send_frames(live_channels_server.url, [(strategies.TEXT, f"40/rooms/auth,{auth}")])
    refusals = [json.loads(text.split(",", 1)[1]) for text in received if text.startswith("44/rooms/auth,")]
    assert [refusal["data"]["code"] for refusal in refusals] == ["invalid"]
    assert refusals[0]["message"] == "The auth of a subscription must be a JSON object."
    Fuzzing(live_channels_server).example_checks(mark, received, sid)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("body", ["1", "d=1", "40/signals/closing,\x1e1"])
def test_a_post_after_the_client_closed_its_session_is_refused(live_channels_server, body):
    """Once a POST carried the client's CLOSE packet, the session's next POST gets HTTP 400, not 500 (a KeyError in python-engineio)."""
    mark = live_channels_server.mark()
    sid, statuses, received = post_body(live_channels_server.url, body)
    assert statuses == [200, 400]
    Fuzzing(live_channels_server).example_checks(mark, received, sid)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("frames", [["x"], ["", "5"], ["2probe", "x"], ["2probe", "4" + "[" * 50_000]])
def test_a_frame_refused_during_an_upgrade_closes_the_session(live_channels_server, frames):
    """A frame that is no Engine.IO packet, sent while a polling session upgrades, ends that session with one warning, no traceback."""
    mark = live_channels_server.mark()
    sid, statuses, received = upgrade(live_channels_server.url, [(strategies.TEXT, frame) for frame in frames])
    assert statuses == [400]  # the closing POST: the session is gone
    Fuzzing(live_channels_server).example_checks(mark, received, sid)
    assert len([line for line in live_channels_server.lines_since(mark) if "is not an Engine.IO packet" in line]) == 1


@pytest.mark.django_db(transaction=True)
def test_a_frame_too_large_during_an_upgrade_closes_the_session(live_channels_server):
    """A frame over MAX_MESSAGE_SIZE sent while a polling session upgrades ends that session with one warning, no traceback."""
    mark = live_channels_server.mark()
    sid, statuses, received = upgrade(live_channels_server.url, [(strategies.TEXT, "4" + "a" * 120_000)])
    assert statuses == [400]  # the closing POST: the session is gone
    Fuzzing(live_channels_server).example_checks(mark, received, sid)
    assert [line for line in live_channels_server.lines_since(mark) if "Closing connection" in line] == [
        f"Closing connection {sid}: its websocket upgrade failed (MessageTooLarge: Messages are limited to 100000 bytes.)"
    ]
