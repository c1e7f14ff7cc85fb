"""ChannelTestClient: the real dispatch in memory, with Phoenix-style assertions."""
import uuid

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext

from socketio_views import ChannelRouter, ChannelView, signals
from socketio_views.testing import ChannelTestClient, InMemoryHub, SubscriptionRefused, default_hub, wire

from .testapp.channels import RoomChannel


def test_subscribe_emit_ack_and_broadcast_between_clients():
    """Two clients share the hub: one's message is acked and reaches both."""
    alice = ChannelTestClient(auth={"name": "alice"})
    bob = ChannelTestClient(auth={"name": "bob"})
    room = alice.subscribe("rooms/lobby")
    bob.subscribe("rooms/lobby")

    assert room.emit("message", {"text": "hi"}) == {"ok": True}
    bob.assert_received("message", {"user": "alice", "text": "hi"})
    alice.assert_received("message", {"user": "alice", "text": "hi"})
    room.assert_broadcast("message", {"user": "alice", "text": "hi"})


def test_what_on_subscribe_sends_reaches_the_subscriber():
    """The join broadcast of on_subscribe is delivered to the new subscriber, as on the wire."""
    alice = ChannelTestClient(auth={"name": "alice"})
    alice.subscribe("rooms/joins")

    assert alice.received("message") == [{"joined": "alice"}]


def test_include_self_false_and_send():
    """include_self=False skips the sender; send() reaches one subscriber."""
    alice = ChannelTestClient(auth={"name": "alice"})
    bob = ChannelTestClient(auth={"name": "bob"})
    room = alice.subscribe("rooms/t")
    bob.subscribe("rooms/t")

    room.emit("typing", {})
    room.emit("echo", {"n": 1})
    bob.assert_received("typing", {"user": "alice"})
    alice.assert_not_received("typing")
    alice.assert_received("echo", {"n": 1})
    bob.assert_not_received("echo")


def test_refusals_raise_subscription_refused_with_code():
    """Refused subscriptions raise SubscriptionRefused carrying the wire message and code."""
    client = ChannelTestClient()

    with pytest.raises(SubscriptionRefused) as info:
        client.subscribe("private/x", auth={"token": "wrong"})
    assert (info.value.message, info.value.code) == ("Wrong token.", "permission_denied")
    with pytest.raises(SubscriptionRefused) as info:
        client.subscribe("nowhere")
    assert info.value.code == "channel_not_found"
    with pytest.raises(SubscriptionRefused) as info:
        client.subscribe("broken/x")
    assert (info.value.message, info.value.code) == ("Internal server error.", "server_error")
    assert client.subscribe("private/x", auth={"token": "secret"}).view.kwargs == {"key": "x"}


def test_the_handshake_is_same_origin_with_testserver():
    """The test client's handshake goes to http://testserver: that Origin is its own, another port is refused."""
    assert "r" == ChannelTestClient(headers={"Origin": "http://testserver"}).subscribe("rooms/r").view.kwargs["room"]
    with pytest.raises(SubscriptionRefused) as info:
        ChannelTestClient(headers={"Origin": "http://testserver:8000"}).subscribe("rooms/r")
    assert "origin_not_allowed" == info.value.code


def test_errors_reach_the_ack_and_the_error_event():
    """A crashing handler returns the error ack and sends an error event, as on the wire."""
    alice = ChannelTestClient(auth={"name": "alice"})
    room = alice.subscribe("rooms/errors")

    expected = {"message": "Internal server error.", "code": "server_error", "event": "boom"}
    assert room.emit("boom") == {"error": expected}
    room.assert_received("error", expected)
    assert room.emit("subscribe")["error"]["code"] == "unknown_event"
    assert room.emit("message", {"text": "still works"}) == {"ok": True}


def test_user_session_and_headers_reach_the_request(db):
    """user=, session= and headers= build the view's request."""
    user = User.objects.create_user("dora")
    client = ChannelTestClient(user=user, session={"theme": "dark"}, headers={"User-Agent": "tests"})
    room = client.subscribe("rooms/who")

    assert room.emit("whoami")["user"] == "dora"
    assert room.view.request.session["theme"] == "dark"
    assert room.view.request.headers["User-Agent"] == "tests"


def test_converters_and_typed_kwargs():
    """Routing is the real router: kwargs arrive converted."""
    key = uuid.uuid4()
    reply = ChannelTestClient().subscribe(f"objects/{key}").emit("kwargs")
    assert reply == {"args": [], "types": {"key": "UUID"}, "values": {"key": str(key)}}


def test_unsubscribe_and_disconnect_run_on_disconnect():
    """Client unsubscribe and disconnect end subscriptions through on_disconnect."""
    alice = ChannelTestClient(auth={"name": "alice"})
    bob = ChannelTestClient(auth={"name": "bob"})
    carol = ChannelTestClient(auth={"name": "carol"})
    alice_room = alice.subscribe("rooms/bye")
    bob.subscribe("rooms/bye")
    carol.subscribe("rooms/bye")

    alice_room.unsubscribe()
    bob.disconnect()
    assert carol.received("left") == [{"left": "alice"}, {"left": "bob"}]
    assert alice_room.closed and alice_room.close_reason == "client disconnect"
    with pytest.raises(RuntimeError, match="no longer subscribed"):
        alice_room.emit("message", {"text": "late"})


def test_server_side_unsubscribe_and_disconnect():
    """view.unsubscribe() and view.disconnect() close the test subscriptions too."""
    alice = ChannelTestClient(auth={"name": "alice"})
    leave = alice.subscribe("rooms/leave")
    other = alice.subscribe("rooms/other")

    leave.emit("leave")
    assert leave.closed and leave.close_reason == "server disconnect"
    assert not other.closed
    other.emit("kick")
    assert other.closed


def test_server_asks_the_client_for_an_ack():
    """client.answers acknowledges the server's events; the view's callback gets the answer."""
    alice = ChannelTestClient(auth={"name": "alice"})
    alice.answers["question"] = lambda data: {"answer": data["q"] * 2}
    room = alice.subscribe("rooms/ask")

    room.emit("ask", {"q": 21})
    room.assert_received("answered", {"answer": 42})


def test_signals_fire_through_the_shared_dispatch():
    """subscribed, message_received, error and unsubscribed fire as they do on the server."""
    seen = []

    def record(signal):
        def receiver(sender, **kwargs):
            seen.append((signal, sender.__name__ if sender else None))

        return receiver

    receivers = {name: record(name) for name in ("subscribed", "message_received", "error", "unsubscribed")}
    for name, receiver in receivers.items():
        getattr(signals, name).connect(receiver)
    try:
        client = ChannelTestClient(auth={"name": "x"})
        room = client.subscribe("rooms/signals")
        room.emit("boom")
        client.disconnect()
    finally:
        for name, receiver in receivers.items():
            getattr(signals, name).disconnect(receiver)
    assert seen == [
        ("subscribed", "RoomChannel"),
        ("message_received", "RoomChannel"),
        ("error", "RoomChannel"),
        ("unsubscribed", "RoomChannel"),
    ]


def test_failure_messages_show_what_was_received():
    """A failed assertion lists what arrived instead."""
    alice = ChannelTestClient(auth={"name": "alice"})
    room = alice.subscribe("rooms/msgs")
    room.emit("message", {"text": "actual"})

    with pytest.raises(AssertionError, match=r"Expected 'message' with \{'text': 'other'\} on 'rooms/msgs'\. "
                       r"Received instead: .*'actual'"):
        room.assert_received("message", {"text": "other"})
    with pytest.raises(AssertionError, match="Did not expect 'message'"):
        room.assert_not_received("message")
    with pytest.raises(AssertionError, match=r"No broadcast of 'message' with 'nope' on 'rooms/msgs'"):
        room.assert_broadcast("message", "nope")


def test_payloads_make_the_json_round_trip():
    """Payloads are converted as on the wire, and unserialisable ones fail loudly."""
    assert wire({1: (1, 2), "b": b"x", None: [True]}) == {"1": [1, 2], "b": b"x", "null": [True]}
    with pytest.raises(TypeError, match="cannot be sent to a Socket.IO client"):
        wire({"when": object()})


def test_separate_hubs_do_not_see_each_other():
    """Clients on different hubs are isolated; the default hub starts each test empty."""
    hub = InMemoryHub()
    alice = ChannelTestClient(auth={"name": "alice"}, hub=hub)
    bob = ChannelTestClient(auth={"name": "bob"})
    alice.subscribe("rooms/iso")
    bob.subscribe("rooms/iso")
    assert alice.received("message") == [{"joined": "alice"}]
    assert list(default_hub().subscriptions.values())[0].client is bob


def test_explicit_router():
    """router= selects a router that is not in the URLconf."""

    class Ping(ChannelView):
        def on_ping(self, data):
            return "pong"

    router = ChannelRouter()
    router.register("ping", Ping)
    assert ChannelTestClient(router=router).subscribe("ping").emit("ping") == "pong"


def test_double_subscription_is_an_error():
    """Subscribing twice to one channel on one client is a test bug, reported clearly."""
    client = ChannelTestClient(auth={"name": "x"})
    client.subscribe("rooms/twice")
    with pytest.raises(RuntimeError, match="Already subscribed to 'rooms/twice'"):
        client.subscribe("rooms/twice")


def test_orm_inside_handlers_runs_in_the_test_transaction(db):
    """Handlers query the test database inside the test's transaction: rows created by the test are seen."""
    User.objects.create_user("u1")
    room = ChannelTestClient().subscribe("db/1")
    with CaptureQueriesContext(connection) as queries:
        assert room.emit("count") == 1
    assert len(queries) == 1


def test_messages_arrive_in_order():
    """A hundred messages arrive in the order they were sent (this test takes a few milliseconds)."""
    alice = ChannelTestClient(auth={"name": "alice"})
    room = alice.subscribe("rooms/order")
    for n in range(100):
        room.emit("message", {"text": str(n)})
    assert [m["text"] for m in alice.received("message")[1:]] == [str(n) for n in range(100)]


def test_room_channel_class_is_the_one_routed():
    """The subscription exposes the view instance serving it."""
    assert isinstance(ChannelTestClient(auth={"name": "x"}).subscribe("rooms/v").view, RoomChannel)


def test_unserialisable_ack_is_a_server_error_not_a_closed_connection():
    """A handler returning something JSON cannot carry gets server_error, and the subscription lives on."""

    class Bad(ChannelView):
        def on_when(self, data):
            return {"at": object()}

    router = ChannelRouter()
    router.register("bad", Bad)
    room = ChannelTestClient(router=router).subscribe("bad")
    assert room.emit("when")["error"]["code"] == "server_error"
    assert room.emit("nothing")["error"]["code"] == "unknown_event"


def test_failing_ack_callback_is_logged_not_raised(caplog):
    """An exception in a send() callback is logged where the ack arrives."""

    class Asker(ChannelView):
        def on_ask(self, data):
            self.send({}, event="question", callback=lambda *reply: 1 / 0)
            return "asked"

    router = ChannelRouter()
    router.register("asker", Asker)
    room = ChannelTestClient(router=router).subscribe("asker")
    assert room.emit("ask") == "asked"
    assert "Acknowledgement callback of" in caplog.text


# A paused client: slow consumers (socketio_views.queues) in process.


def test_a_paused_client_reads_what_waited_in_order_when_it_resumes():
    client = ChannelTestClient()
    flood = client.subscribe("flood/paused")
    client.pause()
    assert flood.emit("flood", {"count": 3, "size": 5}) == {"sent": 3}
    assert flood.received("item") == []
    client.resume()
    assert [item["n"] for item in flood.received("item")] == [0, 1, 2]


def test_a_paused_client_past_the_bound_is_disconnected_with_slow_consumer_and_recovers(settings, db):
    settings.SOCKETIO_VIEWS = {"MAX_QUEUED_BYTES": 1_000}
    client, sender = ChannelTestClient(), ChannelTestClient()
    room = client.subscribe("history/slow")
    other = sender.subscribe("history/slow")
    client.pause()
    for n in range(30):
        other.emit("message", {"n": n, "text": "x" * 50})
    assert room.closed and room.close_reason == "slow consumer"
    client.assert_received(
        "error", {"message": "This connection reads too slowly for what it is sent; reconnect.", "code": "slow_consumer", "event": None}
    )
    assert client.received("message") == []  # what waited was discarded
    (recovered,) = client.reconnect()
    assert recovered.recovered
    assert [m["n"] for m in recovered.received("message")] == list(range(30))


def test_a_paused_ticker_subscriber_misses_what_does_not_fit_and_stays(settings):
    settings.SOCKETIO_VIEWS = {"MAX_QUEUED_MESSAGES": 5}
    client = ChannelTestClient()
    ticker = client.subscribe("ticker/paused")
    client.pause()
    ticker.emit("flood", {"count": 8, "size": 5})
    assert (ticker.closed, ticker.dropped_messages) == (False, 3)
    client.resume()
    assert [item["n"] for item in ticker.received("item")] == [0, 1, 2, 3, 4]
