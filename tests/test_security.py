"""Refusals over real connections, and abuse that must not hurt anyone else."""
import http.client
import json
import threading
import time
import uuid

import pytest
import requests
import socketio
import websocket

from socketio_views.conf import views_settings
from socketio_views.testing import LiveServer

from .waiting import wait_until
from .wire import RawPolling, WireClient, raw_socket, session_cookie

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
    assert ["rate_limited", "rate_limited"] == [reply["error"]["code"] for reply in replies[3:]]
    assert all(reply["error"]["retry_after"] > 0 for reply in replies[3:])
    assert ["rate_limited", "rate_limited"] == [e["code"] for e in client.wait_for("limited/wire", "error", count=2)]


def test_invalid_payload_over_the_wire(connect):
    """A typed handler refuses a wrong payload with per-field messages."""
    client = connect("typed/wire")
    reply = client.call("typed/wire", "message", {"text": 1})
    assert "invalid" == reply["error"]["code"]
    assert reply["error"]["fields"] == {"text": ["expected str, got int"]}


def page_origin(template, server_url):
    """``template`` with ``{port}`` the live server's port and ``{other}`` another port."""
    port = int(server_url.rsplit(":", 1)[1])
    return template.format(port=port, other=port + 1 if port < 65535 else port - 1)


@pytest.mark.parametrize(
    "origin",
    [
        "http://evil.example",
        "https://127.0.0.1.evil.example",
        "null",
        # The server's own host, with another port, scheme or host name: Django's CSRF check refuses them too.
        "http://127.0.0.1:{other}",
        "http://127.0.0.1",
        "https://127.0.0.1:{port}",
        "http://localhost:{port}",
    ],
)
def test_foreign_origin_is_refused_before_any_view(connect, origin, live_channels_server):
    """A page from another origin, even of an allowed host on another port or scheme, is refused and its connection closed."""
    client = connect()
    error = client.refused("signals/origin", headers={"Origin": page_origin(origin, live_channels_server.url)})
    assert error["data"]["code"] == "origin_not_allowed"
    assert "CSRF_TRUSTED_ORIGINS" in error["message"]
    wait_until(lambda: client.sio.eio.state != "connected", message="the refused connection was not closed")
    observer = connect("signals/origin-observer")
    log = observer.call("signals/origin-observer", "log", {"channel": "signals/origin"})
    assert ["subscribed", "SignalsChannel"] not in log["channel"]


@pytest.mark.parametrize("origin", ["http://127.0.0.1:{port}", "https://trusted.example"])
def test_allowed_origins_connect(connect, origin, live_channels_server):
    """The server's own origin (scheme, host and port), and origins listed in CSRF_TRUSTED_ORIGINS, are accepted."""
    headers = {"Origin": page_origin(origin, live_channels_server.url)}
    client = connect("rooms/origin", auth={"name": "o"}, headers=headers)
    assert client.call("rooms/origin", "message", {"text": "hi"}) == {"ok": True}


@pytest.fixture(scope="module")
def origins_server(django_db_setup):
    """A live server whose settings list ALLOWED_ORIGINS (tests/settings_origins.py)."""
    with LiveServer(settings_module="tests.settings_origins") as server:
        yield server


@pytest.fixture
def origins_client(origins_server, transport):
    """Open WireClients to ``origins_server``; closed after the test."""
    clients = []

    def client():
        clients.append(WireClient(origins_server.url, transport=transport))
        return clients[-1]

    yield client
    for c in clients:
        c.close()


@pytest.mark.parametrize("origin", ["https://app.example.com", "https://example.org", "https://chat.example.org"])
def test_allowed_origins_setting_admits_its_entries_over_the_wire(origins_client, origin):
    """With ALLOWED_ORIGINS set, a page at a listed origin, or under a "*." entry's domain, subscribes."""
    client = origins_client().connect("rooms/listed", auth={"name": "l"}, headers={"Origin": origin})
    assert {"ok": True} == client.call("rooms/listed", "message", {"text": "hi"})


@pytest.mark.parametrize(
    "origin",
    [
        "http://127.0.0.1:{port}",  # the server's own origin, allowed without the setting
        "https://trusted.example",  # allowed by CSRF_TRUSTED_ORIGINS without the setting
        "http://app.example.com",
        "https://example.org.evil.example",
        "https://evil.example",
    ],
)
def test_allowed_origins_setting_refuses_every_other_origin_over_the_wire(origins_client, origins_server, origin):
    """With ALLOWED_ORIGINS set, any other origin is refused with origin_not_allowed, even the server's own."""
    client = origins_client()
    origin = page_origin(origin, origins_server.url)
    error = client.refused("rooms/unlisted", auth={"name": "u"}, headers={"Origin": origin})
    assert "origin_not_allowed" == error["data"]["code"]
    assert error["message"].startswith(f"Origin {origin!r} is not allowed to connect.")
    wait_until(lambda: client.sio.eio.state != "connected", message="the refused connection was not closed")


class Ticker:
    """Two real clients: one publishes a numbered sequence, the other must receive it whole and in order."""

    def __init__(self, url, channel="rooms/ticker", transport="websocket"):
        self.channel = channel
        # The python-engineio client rejects a polling response of more than 16
        # packets, so over polling the ticker leaves time for each poll. Either
        # way it ticks for a second or two, while the abuse is sent and answered.
        self.count, self.interval = (200, 0.005) if transport == "websocket" else (60, 0.03)
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


def closed_or_answered(ws, seconds=6):
    """Read until the server answers something or closes; return what happened.

    ``("silent", None)`` when ``seconds`` pass with nothing but pings.
    """

    def next_frame():
        try:
            frame = ws.recv()
        except (websocket.WebSocketConnectionClosedException, ConnectionError):
            return ("closed", None)
        except websocket.WebSocketTimeoutException:
            return ("silent", None)
        if frame == "2":  # a ping: answer it, keep waiting
            ws.send("3")
            return None
        return ("closed", None) if frame == "" else ("answered", frame)

    try:
        return wait_until(next_frame, timeout=seconds, interval=0)
    except AssertionError:
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


def text_filling(channel, size):
    """A text whose event ``message`` on ``channel``, as python-socketio's client sends it, is ``size`` bytes.

    The size counted is the Engine.IO message: its type ("4"), then the
    Socket.IO packet ``2/<channel>,["message",{"text":"..."}]``.
    """

    def frame_size(text):
        packet = socketio.packet.Packet(socketio.packet.EVENT, data=["message", {"text": text}], namespace="/" + channel)
        return len("4" + packet.encode())

    text = "x" * (size - frame_size(""))
    assert size == frame_size(text)
    return text


def test_message_over_max_message_size_closes_the_connection(live_channels_server, connect, transport):
    """A message one byte over MAX_MESSAGE_SIZE is not delivered and closes its connection; the others keep receiving."""
    channel = f"rooms/oversize-{transport}"
    alice = connect(channel, auth={"name": "alice"})
    bob = connect(channel, auth={"name": "bob"})
    session = f"{live_channels_server.url}/socket.io/?EIO=4&transport=polling&sid={alice.sio.eio.sid}"

    alice.emit(channel, "message", {"text": text_filling(channel, views_settings.MAX_MESSAGE_SIZE + 1)})

    wait_until(
        lambda: bob.received(channel, "left"),
        timeout=10,
        message=lambda: "the oversized message did not end alice's subscription; bob received "
        + repr([(event, repr(data)[:50]) for _, event, data in bob.events]),
    )
    assert [{"left": "alice"}] == bob.received(channel, "left")
    # The server forgot the connection (python-engineio's client itself may take a ping interval to notice).
    wait_until(lambda: requests.get(session, timeout=5).status_code == 400, message="alice's session is still open")
    carol = connect(channel, auth={"name": "carol"})
    assert {"ok": True} == carol.call(channel, "message", {"text": "still served"})
    wait_until(lambda: {"user": "carol", "text": "still served"} in bob.received(channel, "message"))
    assert [{"joined": "bob"}, {"joined": "carol"}, {"user": "carol", "text": "still served"}] == bob.received(
        channel, "message"
    )


def test_message_of_max_message_size_is_delivered(connect, transport):
    """A message of MAX_MESSAGE_SIZE bytes is delivered to every subscriber and its sender stays connected.

    Over polling the client may send a pong in the same request, so the message there is 16 bytes smaller.
    """
    channel = f"rooms/fullsize-{transport}"
    alice = connect(channel, auth={"name": "alice"})
    bob = connect(channel, auth={"name": "bob"})
    size = views_settings.MAX_MESSAGE_SIZE - (0 if transport == "websocket" else 16)
    text = text_filling(channel, size)

    alice.emit(channel, "message", {"text": text})

    wait_until(lambda: len(bob.received(channel, "message")) == 2, timeout=10)
    assert [{"joined": "bob"}, {"user": "alice", "text": text}] == bob.received(channel, "message")
    assert "alice" == alice.call(channel, "whoami")["name"]
    assert {"user": "alice", "text": text} in alice.wait_for(channel, "message", count=3)


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


def test_hundreds_of_subscribe_unsubscribe_cycles_leave_nothing_behind(live_channels_server, transport):
    """500 subscribe/unsubscribe cycles on one socket: each answered, no subscription left over, others unharmed.

    The count of live views must come back exactly, so one cycle that left anything behind shows.
    """
    observer = WireClient(live_channels_server.url).connect("signals/cycles")
    baseline = observer.call("signals/cycles", "live_views")
    with Ticker(live_channels_server.url, channel=f"rooms/ticker-cycles-{transport}", transport=transport):
        ws = raw_socket(live_channels_server.url)
        try:
            for _ in range(500):
                ws.send('40/rooms/cycle,{"name":"cycler"}')
                while not (frame := ws.recv()).startswith("40/rooms/cycle,"):
                    if frame == "2":
                        ws.send("3")
                ws.send("41/rooms/cycle,")
        finally:
            ws.shutdown()
    # A socket left by an earlier test may close meanwhile: none may be added.
    wait_until(
        lambda: observer.call("signals/cycles", "live_views") <= baseline,
        message=lambda: f"{observer.call('signals/cycles', 'live_views')} live views, {baseline} before the cycles",
    )
    observer.close()


@pytest.mark.parametrize("jsonp", ["j=0", "j=", "%6A=0"])
def test_jsonp_polling_is_refused(live_channels_server, jsonp):
    """JSONP handshakes (no Origin header from a cross-site <script>) are refused outright."""
    response = requests.get(live_channels_server.url + f"/socket.io/?EIO=4&transport=polling&{jsonp}", timeout=5)
    assert response.status_code == 400
    assert response.json()["code"] == "jsonp_refused"


# An Engine.IO session id is not a bearer token (docs/security.rst, "session-binding").


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def assert_session_mismatch(response):
    """``response`` refuses a request for another client's session: HTTP 403 with the JSON error, nothing else."""
    assert 403 == response.status_code, response.text
    body = response.json()
    assert ({"message", "code"}, "session_mismatch") == (set(body), body["code"])


def events_on(packets, channel):
    """``[event, data]`` of the event packets among ``packets`` on ``channel``."""
    prefix = f"42/{channel},"
    return [json.loads(p[len(prefix):]) for p in packets if p.startswith(prefix)]


@pytest.mark.parametrize("thief", ["no cookie", "another user's cookie"])
def test_a_stolen_polling_sid_is_refused_and_receives_nothing(live_channels_server, thief):
    """Polling GETs and POSTs with alice's sid but without her session cookie get 403 session_mismatch and
    nothing else; alice's session carries on and receives all of its traffic."""
    alice = unique("alice")
    owner = RawPolling(live_channels_server.url, cookie=session_cookie(alice))
    thief_headers = {"Cookie": session_cookie(unique("mallory"))} if thief != "no cookie" else {}
    channel = unique("members/stolen")
    try:
        assert "OK" == owner.post(f"40/{channel},").text
        stolen = [
            requests.get(owner.url, headers=thief_headers, timeout=5),
            requests.post(owner.url, data=f'42/{channel},["message",{{}}]'.encode(), headers=thief_headers, timeout=5),
            requests.post(owner.url, data=b"1", headers=thief_headers, timeout=5),  # would close alice's session
            requests.get(owner.url, headers=thief_headers, timeout=5),
        ]
        for response in stolen:
            assert_session_mismatch(response)
        packets = owner.read_until(lambda p: p.startswith(f"42/{channel},"))
        assert any(p.startswith(f"40/{channel},") for p in packets)
        assert [["welcome", {"welcome": alice}]] == events_on(packets, channel)
        assert "OK" == owner.post(f'42/{channel},1["message",{{}}]').text
        assert f'43/{channel},1[{{"ok":true}}]' in owner.read_until(lambda p: p.startswith("43/"))
    finally:
        owner.close()


@pytest.mark.parametrize("spelling", ["s%69d", "%73id", "sid=&sid"])
def test_a_stolen_sid_is_refused_however_its_parameter_is_spelt(live_channels_server, spelling):
    """python-engineio reads the query string with ``parse_qs``, which decodes ``s%69d=`` to ``sid=`` and skips
    a blank ``sid=``: the ownership check reads it the same way, so a thief cannot slip past it. (Sent with
    http.client: requests would rewrite ``%69`` to ``i``.)"""
    alice = unique("alice")
    owner = RawPolling(live_channels_server.url, cookie=session_cookie(alice))
    channel = unique("members/spelt")
    path = f"/socket.io/?EIO=4&transport=polling&{spelling}={owner.sid}"

    def stolen(method, body=None):
        connection = http.client.HTTPConnection(live_channels_server.url.split("//", 1)[1], timeout=5)
        try:
            connection.request(method, path, body=body, headers={"Content-Type": "text/plain;charset=UTF-8"})
            response = connection.getresponse()
            return response.status, response.read().decode()
        finally:
            connection.close()

    try:
        assert "OK" == owner.post(f"40/{channel},").text
        for status, body in (stolen("GET"), stolen("POST", f'42/{channel},["message",{{}}]'.encode())):
            assert 403 == status, body
            assert "session_mismatch" == json.loads(body)["code"]
        packets = owner.read_until(lambda p: p.startswith(f"42/{channel},"))
        assert [["welcome", {"welcome": alice}]] == events_on(packets, channel)
    finally:
        owner.close()


def test_a_stolen_sid_cannot_upgrade_to_a_websocket(live_channels_server):
    """A websocket upgrade of alice's polling session without her cookie is closed with 1008 and the JSON
    refusal before python-engineio sees it; alice's polling session carries on."""
    owner = RawPolling(live_channels_server.url, cookie=session_cookie(unique("alice")))
    channel = unique("members/upgrade")
    try:
        ws = websocket.create_connection(
            live_channels_server.url.replace("http://", "ws://") + f"/socket.io/?EIO=4&transport=websocket&sid={owner.sid}",
            timeout=5,
        )
        try:
            opcode, frame = ws.recv_data(control_frame=True)
        finally:
            ws.shutdown()  # close() does nothing once a close frame was received
        assert websocket.ABNF.OPCODE_CLOSE == opcode
        assert 1008 == int.from_bytes(frame[:2], "big")
        assert "session_mismatch" == json.loads(frame[2:])["code"]
        assert "OK" == owner.post(f"40/{channel},").text
        owner.read_until(lambda p: p.startswith(f"42/{channel},"))
    finally:
        owner.close()


def test_a_polling_session_is_bound_to_its_origin(live_channels_server):
    """A session opened from one origin refuses requests from another; one opened without Origin (a same-origin
    GET) accepts its page's own origin, then only that one."""
    own = live_channels_server.url
    pinned = RawPolling(own, origin="https://trusted.example")
    same_site = RawPolling(own)
    try:
        assert_session_mismatch(requests.post(pinned.url, data=b"40/rooms/o,", headers={"Origin": own}, timeout=5))
        assert "OK" == pinned.post("40/rooms/o,").text
        assert "OK" == same_site.post("40/rooms/o,", headers={"Origin": own}).text
        assert_session_mismatch(
            requests.post(same_site.url, data=b"3", headers={"Origin": "https://trusted.example"}, timeout=5)
        )
        same_site.read_until(lambda p: p.startswith("40/rooms/o,"))
    finally:
        pinned.close()
        same_site.close()


@pytest.mark.parametrize("method", ["GET", "OPTIONS"])
@pytest.mark.parametrize("origin", ["http://evil.example", "null", "http://127.0.0.1:{other}"])
def test_the_polling_handshake_and_preflight_never_grant_a_foreign_origin(live_channels_server, method, origin):
    """Neither the long-polling handshake nor a CORS preflight answers a foreign Origin with Access-Control-Allow-Origin
    (nor credentials): a page of another site cannot read the Engine.IO session id with the user's cookies."""
    origin = page_origin(origin, live_channels_server.url)
    response = requests.request(
        method,
        live_channels_server.url + "/socket.io/?EIO=4&transport=polling",
        headers={"Origin": origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"},
        timeout=5,
    )
    assert "Access-Control-Allow-Origin" not in response.headers, response.headers
    assert "Access-Control-Allow-Credentials" not in response.headers, response.headers


@pytest.mark.parametrize("method", ["GET", "OPTIONS"])
def test_the_polling_handshake_and_preflight_grant_the_pages_own_origin(live_channels_server, method):
    """The server's own origin (and the trusted ones) still gets its CORS answer, with credentials."""
    origin = page_origin("http://127.0.0.1:{port}", live_channels_server.url)
    response = requests.request(
        method, live_channels_server.url + "/socket.io/?EIO=4&transport=polling", headers={"Origin": origin}, timeout=5
    )
    assert origin == response.headers.get("Access-Control-Allow-Origin")
    assert "true" == response.headers.get("Access-Control-Allow-Credentials")


def test_reconnecting_cannot_exceed_a_per_user_or_per_address_rate_limit(live_channels_server):
    """rate_limit_scope = "user_or_ip" (3 a minute): an anonymous client that reconnects, and a user with a second
    connection, share their budget across connections, so reconnecting buys no extra message."""
    channel = f"user-or-ip-limited/{uuid.uuid4().hex[:8]}"

    def codes(headers=None, count=2):
        client = WireClient(live_channels_server.url).connect(channel, headers=headers)
        try:
            return [client.call(channel, "message", {}).get("error", {}).get("code", "ok") for _ in range(count)]
        finally:
            client.close()

    assert ["ok", "ok"] + ["ok", "rate_limited"] + ["rate_limited", "rate_limited"] == codes() + codes() + codes()
    cookie = session_cookie(f"ann-{uuid.uuid4().hex[:6]}")
    headers = {"Cookie": cookie}
    assert ["ok", "ok"] + ["ok", "rate_limited"] == codes(headers) + codes(headers)
