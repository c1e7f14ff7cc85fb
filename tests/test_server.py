"""End-to-end: a real runserver_socketio process and the real python-socketio client."""
import json
import re
import time

import pytest
import requests
from django.contrib.auth.models import User
from django.test import Client

from socketio_views.testing import LiveServer

from .waiting import wait_until
from .wire import WireClient, raw_socket

pytestmark = pytest.mark.django_db(transaction=True)

LOBBY = "rooms/lobby"


def test_message_is_acknowledged_and_broadcast_to_every_subscriber(connect):
    """A message handler's return value is the ack; its broadcast reaches the sender and the others."""
    alice = connect("rooms/ack", auth={"name": "alice"})
    bob = connect("rooms/ack", auth={"name": "bob"})

    assert alice.call("rooms/ack", "message", {"text": "hi"}) == {"ok": True}

    expected = {"user": "alice", "text": "hi"}
    assert expected in alice.wait_for("rooms/ack", "message", count=3)
    assert expected in bob.wait_for("rooms/ack", "message", count=2)


def test_broadcast_from_on_subscribe_reaches_the_new_subscriber_too(connect):
    """What on_subscribe broadcasts is delivered after the subscription is confirmed, to everyone."""
    alice = connect("rooms/joins", auth={"name": "alice"})
    bob = connect("rooms/joins", auth={"name": "bob"})

    assert bob.wait_for("rooms/joins", "message") == [{"joined": "bob"}]
    assert alice.wait_for("rooms/joins", "message", count=2) == [{"joined": "alice"}, {"joined": "bob"}]


def test_broadcast_with_include_self_false_skips_the_sender(connect):
    """on_typing broadcasts with include_self=False: others get it, the sender does not."""
    alice = connect("rooms/typing", auth={"name": "alice"})
    bob = connect("rooms/typing", auth={"name": "bob"})

    alice.call("rooms/typing", "typing", {})
    assert bob.wait_for("rooms/typing", "typing") == [{"user": "alice"}]
    alice.call("rooms/typing", "whoami")  # a round trip after the broadcast
    assert alice.received("rooms/typing", "typing") == []


def test_send_reaches_only_the_subscriber(connect):
    """self.send() delivers to this subscription alone."""
    alice = connect("rooms/echo", auth={"name": "alice"})
    bob = connect("rooms/echo", auth={"name": "bob"})

    alice.call("rooms/echo", "echo", {"n": 1})
    assert alice.wait_for("rooms/echo", "echo") == [{"n": 1}]
    bob.call("rooms/echo", "whoami")
    assert bob.received("rooms/echo", "echo") == []


def test_broadcast_stays_inside_its_channel(connect):
    """Subscribers of another channel never see a channel's broadcast."""
    alice = connect("rooms/one", auth={"name": "alice"})
    bob = connect("rooms/two", auth={"name": "bob"})

    alice.call("rooms/one", "message", {"text": "only one"})
    bob.call("rooms/two", "message", {"text": "only two"})
    assert {"user": "bob", "text": "only two"} in bob.wait_for("rooms/two", "message", count=2)
    alice.call("rooms/one", "whoami")  # a round trip after bob's broadcast: a leak would have arrived
    assert {"user": "alice", "text": "only one"} in alice.received("rooms/one", "message")
    assert all(ch == "rooms/two" for ch, _, _ in bob.events)
    assert all(ch == "rooms/one" for ch, _, _ in alice.events)


def test_view_attributes_describe_the_subscription(connect):
    """The view has channel, kwargs, sid and an anonymous request.user without a session."""
    alice = connect("rooms/attrs", auth={"name": "alice"})

    info = alice.call("rooms/attrs", "whoami")
    assert info["channel"] == "rooms/attrs"
    assert info["kwargs"] == {"room": "attrs"}
    assert info["sid"] == alice.sio.get_sid("/rooms/attrs")
    assert info["authenticated"] is False
    assert info["user"] == ""  # AnonymousUser's username
    assert info["name"] == "alice"


def test_session_cookie_authenticates_the_user(connect):
    """request.user is the user of the Django session cookie sent with the handshake."""
    user = User.objects.create_user("carol", password="pw")
    client = Client()
    client.force_login(user)
    cookie = f"sessionid={client.cookies['sessionid'].value}"

    carol = connect("rooms/auth", headers={"Cookie": cookie})

    info = carol.call("rooms/auth", "whoami")
    assert (info["user"], info["authenticated"], info["name"]) == ("carol", True, "carol")


@pytest.mark.parametrize(
    "channel, types, values",
    [
        ("items/42", {"item_id": "int"}, {"item_id": "42"}),
        (
            "objects/12345678-1234-5678-1234-567812345678",
            {"key": "UUID"},
            {"key": "12345678-1234-5678-1234-567812345678"},
        ),
        ("files/a/b/c.txt", {"filename": "str"}, {"filename": "a/b/c.txt"}),
        ("archive/2024", {"year": "int"}, {"year": "2024"}),
        ("legacy/ABC", {"code": "str"}, {"code": "ABC"}),
    ],
)
def test_patterns_convert_like_django_urls(connect, channel, types, values):
    """Built-in, registered and regex converters give handlers typed kwargs."""
    client = connect(channel)

    reply = client.call(channel, "kwargs")
    assert (reply["types"], reply["values"]) == (types, values)


@pytest.mark.parametrize("channel", ["items/abc", "nowhere", "legacy/abcd", "archive/99"])
def test_unmatched_channel_gets_connect_error(connect, channel):
    """A channel that matches no pattern is refused with code channel_not_found."""
    error = connect().refused(channel)

    assert error["message"] == f"No channel matches {channel!r}."
    assert error["data"]["code"] == "channel_not_found"


def test_permission_denied_refuses_the_subscription(connect):
    """PermissionDenied in on_subscribe becomes connect_error with its message and code."""
    error = connect().refused("private/x", auth={"token": "wrong"})

    assert error == {
        "message": "Wrong token.",
        "data": {"message": "Wrong token.", "code": "permission_denied"},
    }


def test_permission_granted_by_auth_payload(connect):
    """The Socket.IO auth object reaches on_subscribe as self.auth."""
    client = connect("private/x", auth={"token": "secret"})

    assert client.sio.get_sid("/private/x") is not None


def test_on_subscribe_returning_false_refuses(connect):
    """on_subscribe returning False refuses with code refused."""
    error = connect().refused("closed/x")

    assert error["data"]["code"] == "refused"


def test_exception_in_on_subscribe_refuses_without_leaking_internals(connect, live_channels_server):
    """A crash in on_subscribe refuses with server_error; the traceback stays in the server log."""
    error = connect().refused("broken/x")

    assert error == {
        "message": "Internal server error.",
        "data": {"message": "Internal server error.", "code": "server_error"},
    }
    live_channels_server.wait_for_output("RuntimeError: database password is hunter2")


def test_refused_channel_does_not_affect_other_subscriptions_of_the_connection(connect):
    """One refused namespace leaves the connection's accepted subscriptions working."""
    client = connect()

    assert client.refused("closed/mixed", "rooms/mixed", auth={"name": "dave"})["data"]["code"] == "refused"
    client.wait_for("rooms/mixed", "message")  # the join broadcast
    assert client.call("rooms/mixed", "message", {"text": "still here"}) == {"ok": True}


def test_handler_exception_sends_error_and_keeps_the_connection(connect, live_channels_server):
    """A crashing handler: error event and ack without internals, server log with traceback, socket alive."""
    alice = connect("rooms/boom", "rooms/boom2", auth={"name": "alice"})

    reply = alice.call("rooms/boom", "boom")
    expected = {"message": "Internal server error.", "code": "server_error", "event": "boom"}
    assert reply == {"error": expected}
    assert alice.wait_for("rooms/boom", "error") == [expected]
    live_channels_server.wait_for_output("RuntimeError: secret internals")
    assert alice.call("rooms/boom", "message", {"text": "alive"}) == {"ok": True}
    assert alice.call("rooms/boom2", "message", {"text": "alive"}) == {"ok": True}


def test_channel_error_and_permission_denied_in_handlers(connect):
    """ChannelError and PermissionDenied raised by handlers reach the client with their message and code."""
    alice = connect("rooms/refusals", auth={"name": "alice"})

    assert alice.call("rooms/refusals", "refuse") == {
        "error": {"message": "The room is full.", "code": "room_full", "event": "refuse"}
    }
    assert alice.call("rooms/refusals", "forbidden") == {
        "error": {"message": "Only moderators may do that.", "code": "permission_denied", "event": "forbidden"}
    }


def test_unknown_event_gets_error_and_is_not_a_crash(connect):
    """An event without handler is answered with code unknown_event."""
    alice = connect("rooms/unknown", auth={"name": "alice"})

    reply = alice.call("rooms/unknown", "nosuchevent", {"x": 1})
    assert reply["error"]["code"] == "unknown_event"
    assert alice.wait_for("rooms/unknown", "error")[0]["event"] == "nosuchevent"
    assert alice.call("rooms/unknown", "message", {"text": "ok"}) == {"ok": True}


@pytest.mark.parametrize(
    "event",
    ["connect", "disconnect", "subscribe", "unsubscribe", "error", "_private", "__init__", "setup", "on_message"],
)
def test_client_cannot_reach_hooks_or_attributes_by_naming_them(connect, event):
    """Lifecycle hooks, private methods and plumbing are never reachable as client events."""
    alice = connect("rooms/reserved", auth={"name": "alice"})
    bob = connect("rooms/reserved", auth={"name": "bob"})

    alice.emit("rooms/reserved", event, "client disconnect")
    error = alice.wait_for("rooms/reserved", "error")[0]
    assert error["code"] == "unknown_event"
    assert error["event"] == event
    # Still subscribed, and on_disconnect did not run (it would tell bob "left").
    assert alice.call("rooms/reserved", "message", {"text": "still here"}) == {"ok": True}
    bob.call("rooms/reserved", "whoami")
    assert bob.received("rooms/reserved", "left") == []


def test_more_than_one_payload_argument_is_invalid(connect):
    """Handlers take one payload; an event with two is refused with code invalid."""
    alice = connect("rooms/args", auth={"name": "alice"})

    reply = alice.sio.call("message", ({"text": "a"}, {"text": "b"}), namespace="/rooms/args", timeout=5)
    assert reply["error"]["code"] == "invalid"


def test_many_subscriptions_on_one_connection(connect, transport):
    """One connection multiplexes many channels, each with its own view."""
    # python-engineio decodes at most 16 packets per polling payload, and each
    # subscription here sends two (the confirmation and the join broadcast).
    count = 30 if transport == "websocket" else 6
    channels = [f"rooms/multi-{i}" for i in range(count)]
    alice = connect(*channels, auth={"name": "alice"})

    sids = {alice.call(channel, "whoami")["sid"] for channel in channels}
    assert len(sids) == count
    for channel in channels:
        assert alice.call(channel, "message", {"text": channel}) == {"ok": True}
    for channel in channels:
        assert {"user": "alice", "text": channel} in alice.wait_for(channel, "message", count=2)


def test_server_side_unsubscribe_keeps_the_connection(connect):
    """self.unsubscribe() ends one subscription; the others on the connection continue."""
    alice = connect("rooms/leave-a", "rooms/leave-b", auth={"name": "alice"})
    bob = connect("rooms/leave-a", auth={"name": "bob"})

    alice.emit("rooms/leave-a", "leave")
    assert bob.wait_for("rooms/leave-a", "left") == [{"left": "alice"}]
    assert alice.call("rooms/leave-b", "message", {"text": "b"}) == {"ok": True}
    assert "rooms/leave-a" in alice.disconnects


def test_server_side_disconnect_closes_the_connection(connect):
    """self.disconnect() closes the whole connection and runs on_disconnect."""
    alice = connect("rooms/kick", auth={"name": "alice"})
    bob = connect("rooms/kick", auth={"name": "bob"})

    alice.emit("rooms/kick", "kick")
    assert bob.wait_for("rooms/kick", "left") == [{"left": "alice"}]
    wait_until(lambda: not alice.sio.connected, message="the kicked client is still connected")


def test_client_disconnect_runs_on_disconnect(connect):
    """Closing the client runs on_disconnect, which here tells the others."""
    alice = connect("rooms/bye", auth={"name": "alice"})
    bob = connect("rooms/bye", auth={"name": "bob"})

    alice.close()
    # Over polling the python-engineio client may stop without sending its
    # close packet; the server then notices at the next missed ping (5 s here).
    assert bob.wait_for("rooms/bye", "left", timeout=10) == [{"left": "alice"}]


def test_broadcast_from_a_django_view(connect, live_channels_server):
    """socketio_views.broadcast() in an ordinary Django view reaches the channel's subscribers."""
    alice = connect("rooms/notify", auth={"name": "alice"})

    response = requests.post(
        live_channels_server.url + "/notify/",
        data=json.dumps({"channel": "rooms/notify", "text": "from a view"}),
        timeout=5,
    )
    assert response.json() == {"sent": True}
    assert alice.wait_for("rooms/notify", "notice") == [{"text": "from a view"}]


def test_send_to_one_sid_from_a_django_view(connect, live_channels_server):
    """socketio_views.send(sid, ...) reaches that subscription only."""
    alice = connect("rooms/direct", auth={"name": "alice"})
    bob = connect("rooms/direct", auth={"name": "bob"})

    requests.post(
        live_channels_server.url + "/direct/",
        data=json.dumps({"sid": alice.sio.get_sid("/rooms/direct"), "text": "psst"}),
        timeout=5,
    ).raise_for_status()
    assert alice.wait_for("rooms/direct", "direct") == [{"text": "psst"}]
    bob.call("rooms/direct", "whoami")
    assert bob.received("rooms/direct", "direct") == []


def test_a_websocket_request_finishes_when_the_socket_closes():
    """Through Django's handler (HANDSHAKE_MIDDLEWARE None), request_finished is sent once a WebSocket closes, as
    for every request, so that its receivers run.

    A server of its own: on the session's server, other tests' long-polls may be pending.
    """
    server = LiveServer(env={"SOCKETIO_VIEWS_TEST_FULL_STACK": "1"}).start()
    try:
        counts_url = server.url + "/requests/"

        def unfinished():
            counts = requests.get(counts_url, timeout=5).json()
            return counts["started"] - counts["finished"] - 1  # this request has not finished yet

        assert unfinished() == 0
        client = WireClient(server.url, transport="websocket").connect("rooms/finishing", auth={"name": "f"})
        try:
            assert unfinished() == 1
        finally:
            client.close()
        wait_until(lambda: unfinished() == 0, message=lambda: f"{unfinished()} request(s) not finished")
    finally:
        server.stop()


def test_the_lean_path_sends_no_request_signals():
    """On the lean path (the default), Engine.IO handshakes send neither request_started nor request_finished, as
    Channels sends none for its consumers; the site's own requests still send both."""
    server = LiveServer().start()
    try:
        counts_url = server.url + "/requests/"
        before = requests.get(counts_url, timeout=5).json()
        for transport in ("websocket", "polling"):
            client = WireClient(server.url, transport=transport).connect("rooms/quiet", auth={"name": "q"})
            client.call("rooms/quiet", "whoami")
            client.close()
        after = requests.get(counts_url, timeout=5).json()
        # Only the two requests for the counts themselves started; the first of them finished.
        assert {"started": before["started"] + 1, "finished": before["finished"] + 1} == after
    finally:
        server.stop()


def test_server_can_ask_the_client_for_an_ack(connect):
    """self.send(..., callback=) receives the client's acknowledgement."""
    alice = connect()
    alice.answers["question"] = lambda data: {"answer": data["q"] * 2}
    alice.connect("rooms/ask", auth={"name": "alice"})

    alice.call("rooms/ask", "ask", {"q": 21})
    assert alice.wait_for("rooms/ask", "answered") == [{"answer": 42}]


def test_blocking_handler_does_not_delay_other_clients(connect):
    """A handler that sleeps blocks only its own connection; others are answered at once."""
    slow = connect("rooms/slow", auth={"name": "slow"})
    fast = connect("rooms/slow", auth={"name": "fast"})

    slow.emit("rooms/slow", "slow", {"seconds": 3})
    emitted = time.monotonic()
    time.sleep(0.2)  # let the slow handler start
    started = time.monotonic()
    assert fast.call("rooms/slow", "message", {"text": "quick"}) == {"ok": True}
    assert time.monotonic() - started < 1.5
    assert slow.call("rooms/slow", "whoami", timeout=10)["name"] == "slow"
    assert time.monotonic() - emitted > 2.5  # the slow connection's next event waited for the handler


def test_signals_are_sent_at_every_stage(connect, transport):
    """subscribed, message_received, error, unsubscribed, connected and disconnected are sent, in that order."""
    channel = f"signals/stages-{transport}"
    alice = connect(channel)
    alice.call(channel, "ping", {"n": 1})
    alice.call(channel, "nosuch")
    alice_eio_sid = alice.sio.eio.sid
    alice.close()
    observer = connect(f"signals/stages-observer-{transport}")

    def ended():
        log = observer.call(f"signals/stages-observer-{transport}", "log", {"channel": channel})
        return log if ["disconnected", alice_eio_sid] in log["connections"] else None

    # Over polling the client may stop without its goodbye: the server then notices at the next missed ping.
    log = wait_until(ended, timeout=10, message=f"the server did not see {alice_eio_sid} disconnect")
    assert log["channel"][:4] == [
        ["subscribed", "SignalsChannel"],
        ["message_received", "ping", {"n": 1}],
        ["message_received", "nosuch", None],
        ["error", "nosuch", "unknown_event"],
    ]
    assert ["unsubscribed"] == [entry[0] for entry in log["channel"][4:]]
    connections = log["connections"]
    assert connections.index(["connected", alice_eio_sid]) < connections.index(["disconnected", alice_eio_sid])


def test_subscription_refused_signal(connect, transport):
    """subscription_refused fires with the error's code, even when no pattern matched."""
    channel = f"signals/{transport}/unmatched"
    connect().refused(channel)
    observer = connect("signals/observer")

    log = observer.call("signals/observer", "log", {"channel": channel})
    assert log["channel"] == [["subscription_refused", "channel_not_found"]]


# Disconnect reasons over the wire: ReasonsChannel logs its view's disconnect_reason.


def disconnect_reasons(observer, channel):
    """The disconnect_reason of each ended subscription to ``channel``, once one has ended."""

    def reasons():
        log = observer.call(observer.channel, "log", {"channel": channel})["channel"]
        return [entry[1] for entry in log if entry[0] == "disconnect_reason"]

    return wait_until(reasons, timeout=15, message=f"no subscription to {channel!r} ended")


@pytest.fixture
def observer(live_channels_server, request):
    """A websocket subscriber of a ReasonsChannel of its own, to read the server's log."""
    channel = "reasons/observer-" + re.sub(r"\W+", "-", request.node.name)[:100]
    client = WireClient(live_channels_server.url, transport="websocket").connect(channel)
    client.channel = channel
    yield client
    client.close()


def test_leaving_a_channel_gives_client_disconnect(live_channels_server, observer):
    """A client leaving one channel (a Socket.IO DISCONNECT for its namespace) ends it with reason "client disconnect"."""
    ws = raw_socket(live_channels_server.url)
    try:
        ws.send("40/reasons/leaving,{}")
        wait_until(lambda: ws.recv().startswith("40/reasons/leaving,"), interval=0)
        ws.send("41/reasons/leaving,")
        assert ["client disconnect"] == disconnect_reasons(observer, "reasons/leaving")
    finally:
        ws.shutdown()


def test_server_side_unsubscribe_gives_server_disconnect(connect, observer, transport):
    """self.unsubscribe() ends the subscription with reason "server disconnect"."""
    channel = f"reasons/unsubscribed-{transport}"
    client = connect(channel)

    client.emit(channel, "leave")

    assert ["server disconnect"] == disconnect_reasons(observer, channel)
    wait_until(lambda: channel in client.disconnects)


def test_server_side_disconnect_gives_server_disconnect_to_every_subscription(connect, observer, transport):
    """self.disconnect() ends every subscription of the connection with reason "server disconnect"."""
    kicked, other = f"reasons/kicked-{transport}", f"reasons/kicked-other-{transport}"
    client = connect(kicked, other)

    client.emit(kicked, "kick")

    assert ["server disconnect"] == disconnect_reasons(observer, kicked)
    assert ["server disconnect"] == disconnect_reasons(observer, other)


def test_client_closing_its_connection_gives_client_disconnect(live_channels_server, observer):
    """A client closing its connection (an Engine.IO close packet) ends each subscription with "client disconnect".

    A raw socket: python-socketio's client may close its websocket before
    its goodbye is written, and the reason is then "transport close".
    """
    ws = raw_socket(live_channels_server.url)
    try:
        for channel in ("reasons/closing-a", "reasons/closing-b"):
            ws.send(f"40/{channel},{{}}")
            wait_until(lambda: ws.recv().startswith(f"40/{channel},"), interval=0)

        ws.send("1")

        assert ["client disconnect"] == disconnect_reasons(observer, "reasons/closing-a")
        assert ["client disconnect"] == disconnect_reasons(observer, "reasons/closing-b")
    finally:
        ws.shutdown()


def test_dropped_websocket_gives_transport_close(live_channels_server, observer):
    """A websocket that drops without a goodbye ends its subscriptions with reason "transport close"."""
    ws = raw_socket(live_channels_server.url)
    ws.send("40/reasons/dropped,{}")
    wait_until(lambda: ws.recv().startswith("40/reasons/dropped,"), interval=0)

    ws.shutdown()

    assert ["transport close"] == disconnect_reasons(observer, "reasons/dropped")


def test_vanished_polling_client_gives_ping_timeout(live_channels_server, observer):
    """A polling client that stops polling ends its subscriptions with reason "ping timeout" (after 5 s here)."""
    endpoint = live_channels_server.url + "/socket.io/?EIO=4&transport=polling"
    with requests.Session() as http:
        handshake = http.get(endpoint, timeout=5).text
        sid = json.loads(handshake[1:])["sid"]
        assert "OK" == http.post(f"{endpoint}&sid={sid}", data="40/reasons/vanished,{}", timeout=5).text
        assert http.get(f"{endpoint}&sid={sid}", timeout=5).text.startswith("40/reasons/vanished,")

    assert ["ping timeout"] == disconnect_reasons(observer, "reasons/vanished")
