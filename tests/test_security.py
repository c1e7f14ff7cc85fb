"""Refusals over real connections, and abuse that must not hurt anyone else."""
import json
import threading
import time

import pytest
import websocket

from .wire import WireClient

pytestmark = pytest.mark.django_db(transaction=True)


def test_login_required_over_the_wire(connect):
    """LoginRequiredMixin refuses an anonymous socket with connect_error code login_required."""
    error = connect().refused("members/lobby")
    assert error == {
        "message": "Log in to subscribe to this channel.",
        "data": {"message": "Log in to subscribe to this channel.", "code": "login_required"},
    }


def test_rate_limited_over_the_wire(connect):
    """Events over the limit get an error event and an error ack with code rate_limited."""
    client = connect("limited/wire")
    replies = [client.call("limited/wire", "message", {}) for _ in range(5)]
    assert replies[:3] == [{"ok": True}] * 3
    assert replies[3]["error"]["code"] == "rate_limited"
    assert replies[3]["error"]["retry_after"] > 0
    assert client.wait_for("limited/wire", "error", count=2)[0]["code"] == "rate_limited"


def test_invalid_payload_over_the_wire(connect):
    """A typed handler refuses a wrong payload with per-field messages."""
    client = connect("typed/wire")
    reply = client.call("typed/wire", "message", {"text": 1})
    assert reply["error"]["fields"] == {"text": ["expected str, got int"]}


@pytest.mark.parametrize("origin", ["http://evil.example", "https://127.0.0.1.evil.example", "null"])
def test_foreign_origin_is_refused_before_any_view(connect, origin, live_channels_server):
    """A page from another site is refused with origin_not_allowed, and its connection is closed."""
    client = connect()
    error = client.refused("signals/origin", headers={"Origin": origin})
    assert error["data"]["code"] == "origin_not_allowed"
    assert "CSRF_TRUSTED_ORIGINS" in error["message"]
    deadline = time.monotonic() + 5
    while client.sio.eio.state == "connected" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert client.sio.eio.state != "connected"
    observer = connect("signals/origin-observer")
    log = observer.call("signals/origin-observer", "log", {"channel": "signals/origin"})
    assert ["subscribed", "SignalsChannel"] not in log["channel"]


@pytest.mark.parametrize("origin", ["http://127.0.0.1:8000", "https://localhost", "https://trusted.example"])
def test_allowed_origins_connect(connect, origin):
    """Origins whose host is in ALLOWED_HOSTS, or listed in CSRF_TRUSTED_ORIGINS, are accepted."""
    client = connect("rooms/origin", auth={"name": "o"}, headers={"Origin": origin})
    assert client.call("rooms/origin", "message", {"text": "hi"}) == {"ok": True}


class Ticker:
    """Two real clients: one publishes a numbered sequence, the other must receive it whole and in order."""

    def __init__(self, url, channel="rooms/ticker", count=200, transport="websocket"):
        self.channel = channel
        self.count = count
        # The python-engineio client rejects a polling response of more than 16
        # packets, so over polling the ticker leaves time for each poll.
        self.interval = 0.005 if transport == "websocket" else 0.03
        self.listener = WireClient(url, transport=transport).connect(channel, auth={"name": "listener"})
        self.publisher = WireClient(url, transport=transport).connect(channel, auth={"name": "publisher"})
        self.thread = threading.Thread(target=self._publish, daemon=True)

    def _publish(self):
        for n in range(self.count):
            self.publisher.emit(self.channel, "message", {"text": str(n)})
            time.sleep(self.interval)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc_info):
        self.thread.join(30)
        texts = [m["text"] for m in self.listener.wait_for(self.channel, "message", count=self.count + 2, timeout=30)
                 if "text" in m and m.get("user") == "publisher"]
        self.listener.close()
        self.publisher.close()
        assert texts == [str(n) for n in range(self.count)], "the listener missed or reordered messages"


def raw_socket(url):
    """A raw Engine.IO websocket, for sending what no correct client sends."""
    ws = websocket.create_connection(url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket", timeout=5)
    assert ws.recv().startswith("0{")
    return ws


def closed_or_answered(ws, seconds=6):
    """Read until the server answers something or closes; return what happened."""
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            frame = ws.recv()
            if frame == "2":  # a ping: answer it, keep waiting
                ws.send("3")
                continue
            return ("closed", None) if frame == "" else ("answered", frame)
    except (websocket.WebSocketConnectionClosedException, ConnectionError):
        return ("closed", None)
    except websocket.WebSocketTimeoutException:
        pass
    return ("silent", None)


ABUSE = {
    "malformed socket.io packet": lambda ws: ws.send('42/rooms/abuse,["message", {broken'),
    "unknown engine.io packet type": lambda ws: ws.send("9nonsense"),
    "empty frame": lambda ws: ws.send(""),
    "binary garbage": lambda ws: ws.send_binary(b"\x00\xff\xfe\x01garbage"),
    "oversized message": lambda ws: ws.send('42/rooms/abuse,["message","' + "x" * 200_000 + '"]'),
    "deeply nested JSON": lambda ws: ws.send("42/rooms/abuse,[\"message\"," + "[" * 50_000 + "]" * 50_000 + "]"),
    "event before subscribe": lambda ws: ws.send('42/rooms/never,["message",{"text":"sneaky"}]'),
    "unknown channel": lambda ws: ws.send('40/no/such/channel,{}'),
    "malformed channel name": lambda ws: ws.send("40/" + "%00../" * 100 + ",{}"),
}


@pytest.mark.parametrize("abuse", sorted(ABUSE))
def test_abuse_is_answered_or_closed_and_hurts_nobody_else(live_channels_server, abuse, transport):
    """Malformed, oversized, binary or absurdly nested input: an error or a clean close; others lose nothing.

    The abuse travels over a raw websocket; the well-behaved clients use ``transport``.
    """
    channel = f"rooms/ticker-{transport}-{abuse.replace(' ', '-').replace('.', '')}"
    with Ticker(live_channels_server.url, channel=channel, transport=transport):
        ws = raw_socket(live_channels_server.url)
        try:
            ABUSE[abuse](ws)
            outcome, frame = closed_or_answered(ws)
        finally:
            ws.shutdown()
        # python-engineio ignores Engine.IO packet types it does not know; it
        # passes nothing on, so that one alone may be met with silence.
        expected = ("answered", "closed", "silent") if abuse == "unknown engine.io packet type" else ("answered", "closed")
        assert outcome in expected, f"the server neither answered nor closed ({outcome})"
    # And the server still accepts new clients.
    fresh = WireClient(live_channels_server.url).connect("rooms/after-abuse", auth={"name": "n"})
    assert fresh.call("rooms/after-abuse", "message", {"text": "ok"}) == {"ok": True}
    fresh.close()


def test_event_before_subscribe_gets_not_subscribed(live_channels_server):
    """An event for a channel the socket has not subscribed to is answered with connect_error not_subscribed."""
    ws = raw_socket(live_channels_server.url)
    try:
        ws.send('42/rooms/never,["message",{"text":"sneaky"}]')
        outcome, frame = closed_or_answered(ws)
    finally:
        ws.shutdown()
    assert outcome == "answered"
    assert frame.startswith("44/rooms/never,")
    assert json.loads(frame.split(",", 1)[1])["data"]["code"] == "not_subscribed"


def test_thousands_of_subscribe_unsubscribe_cycles_leave_nothing_behind(live_channels_server, transport):
    """2,000 subscribe/unsubscribe cycles on one socket: each answered, no subscription left over, others unharmed."""
    observer = WireClient(live_channels_server.url).connect("signals/cycles")
    baseline = observer.call("signals/cycles", "live_views")
    with Ticker(live_channels_server.url, channel=f"rooms/ticker-cycles-{transport}", transport=transport):
        ws = raw_socket(live_channels_server.url)
        try:
            for _ in range(2000):
                ws.send('40/rooms/cycle,{"name":"cycler"}')
                while not (frame := ws.recv()).startswith("40/rooms/cycle,"):
                    if frame == "2":
                        ws.send("3")
                ws.send("41/rooms/cycle,")
        finally:
            ws.shutdown()
    # A socket left by an earlier test may close meanwhile: none may be added.
    deadline = time.monotonic() + 5
    while observer.call("signals/cycles", "live_views") > baseline and time.monotonic() < deadline:
        time.sleep(0.05)
    assert observer.call("signals/cycles", "live_views") <= baseline
    observer.close()


@pytest.mark.parametrize("jsonp", ["j=0", "j=", "%6A=0"])
def test_jsonp_polling_is_refused(live_channels_server, jsonp):
    """JSONP handshakes (no Origin header from a cross-site <script>) are refused outright."""
    import requests

    response = requests.get(live_channels_server.url + f"/socket.io/?EIO=4&transport=polling&{jsonp}", timeout=5)
    assert response.status_code == 400
    assert response.json()["code"] == "jsonp_refused"
