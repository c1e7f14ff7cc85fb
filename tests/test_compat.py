"""socketio_views.compat: each django-socketio API, with the in-memory test client."""
import re

import pytest

from socketio_views import SubscriptionRefused
from socketio_views.compat import NoSocket, broadcast, broadcast_channel, events, send
from socketio_views.compat.events import EVENTS, EventError
from socketio_views.compat.sockets import connections
from socketio_views.testing import ChannelTestClient

pytestmark = pytest.mark.django_db


@pytest.fixture
def router():
    """The compat router, with no handlers registered but the test's own."""
    from socketio_views.compat.urls import router

    saved = [list(event.handlers) for event in EVENTS]
    for event in EVENTS:
        event.handlers.clear()
    yield router
    for event, handlers in zip(EVENTS, saved):
        event.handlers[:] = handlers
    connections.clear()


@pytest.fixture
def client(router):
    return lambda: ChannelTestClient(router=router)


@pytest.fixture
def calls(router):
    """Register a recording handler for each event: ``calls`` lists ``(event, channel, *args)``."""
    class Calls(list):
        pass

    seen = Calls()

    def record(name, pattern=None):
        def handler(request, socket, context, *args):
            seen.append((name, socket.channel, *args))

        getattr(events, name)(handler, channel=pattern)

    seen.record = record
    return seen


def test_decorators_register_with_or_without_a_channel_pattern(router):
    """@event and @event(channel=...) register the handler and return it, as a decorator should."""

    @events.on_message
    def anywhere(request, socket, context, message):
        pass

    @events.on_message(channel="^room-")
    def rooms(request, socket, context, message):
        pass

    assert anywhere.__name__ == "anywhere" and rooms.__name__ == "rooms"
    assert [(h, p and p.pattern) for h, p in events.on_message.handlers] == [(anywhere, None), (rooms, "^room-")]


def test_on_connect_refuses_a_channel_pattern(router):
    """on_connect runs before any subscription, so channel= is refused with what to do."""
    with pytest.raises(EventError, match=re.escape("remove channel='^room-' from handler()'s decorator")):

        @events.on_connect(channel="^room-")
        def handler(request, socket, context):
            pass


def test_patterns_match_channel_names_and_unfiltered_handlers_run_on_the_root_namespace(router):
    """channel= is matched with re.match; a handler without it runs on the root namespace only (subscribe: everywhere)."""

    def rooms(*args):
        pass

    def plain(*args):
        pass

    events.on_message(rooms, channel="^room-")
    events.on_message(plain)
    events.on_subscribe(plain)
    assert events.on_message.handlers_for("room-1") == [rooms]
    assert events.on_message.handlers_for("lobby-room-1") == []
    assert events.on_message.handlers_for("") == [plain]
    assert events.on_subscribe.handlers_for("room-1") == [plain]


def test_lifecycle_events_in_order(client, calls):
    """connect, subscribe, message, then disconnect, unsubscribe and finish when the client leaves."""
    for name in ("on_connect", "on_subscribe", "on_message", "on_disconnect", "on_unsubscribe", "on_finish"):
        calls.record(name, None if name == "on_connect" else "^room-")
    room = client().subscribe("room-1")
    assert room.emit("message", {"text": "hi"}) is None
    room.unsubscribe()
    assert calls == [
        ("on_connect", "room-1"),
        ("on_subscribe", "room-1", "room-1"),
        ("on_message", "room-1", {"text": "hi"}),
        ("on_disconnect", "room-1"),
        ("on_unsubscribe", "room-1", "room-1"),
        ("on_finish", "room-1"),
    ]


def test_a_subscription_the_server_ends_runs_no_on_disconnect(client, calls):
    """on_disconnect is for a client that went away; the server ending a subscription runs unsubscribe and finish."""
    for name in ("on_disconnect", "on_unsubscribe", "on_finish"):
        calls.record(name, "^room-")
    room = client().subscribe("room-1")
    room.view.unsubscribe()
    assert calls == [("on_unsubscribe", "room-1", "room-1"), ("on_finish", "room-1")]


def test_on_connect_runs_once_per_connection_and_context_is_per_connection(client, router):
    """A connection's subscriptions share one context; another connection has its own; it ends with the last subscription."""
    contexts = []

    @events.on_connect
    def connect(request, socket, context):
        context["n"] = len(contexts)
        contexts.append(context)

    ann, bob = client(), client()
    ann.subscribe("room-1"), ann.subscribe("room-2"), bob.subscribe("room-1")
    assert len(contexts) == 2 and contexts[0] is not contexts[1]
    assert connections[ann.connection_id].context is contexts[0]
    assert ann.subscriptions["room-2"].view.context is contexts[0]
    ann.subscriptions["room-1"].unsubscribe()
    assert ann.connection_id in connections
    ann.subscriptions["room-2"].unsubscribe()
    assert ann.connection_id not in connections


def test_on_error_receives_the_exception_and_the_client_gets_server_error(client, calls):
    """A failing handler runs on_error with its exception; the client gets the server_error ack; the subscription stays."""
    calls.record("on_error", "^room-")

    @events.on_message(channel="^room-")
    def fails(request, socket, context, message):
        raise ValueError("boom")

    room = client().subscribe("room-1")
    ack = room.emit("message", {})
    assert ack["error"]["code"] == "server_error"
    assert [(name, channel, type(exc), str(exc)) for name, channel, exc in calls] == [
        ("on_error", "room-1", ValueError, "boom")
    ]
    assert not room.closed


def test_socket_send_and_broadcast_channel(client, router):
    """send() reaches the sender; broadcast_channel() the others only; send_and_broadcast_channel() all of them."""

    @events.on_message(channel="^room-")
    def message(request, socket, context, message):
        getattr(socket, message["how"])(message)

    ann, bob = client(), client()
    a, b = ann.subscribe("room-1"), bob.subscribe("room-1")
    for how in ("send", "broadcast_channel", "send_and_broadcast_channel"):
        a.emit("message", {"how": how})
    assert [m["how"] for m in a.received("message")] == ["send", "send_and_broadcast_channel"]
    assert [m["how"] for m in b.received("message")] == ["broadcast_channel", "send_and_broadcast_channel"]


def test_broadcast_channel_without_a_channel_reaches_every_channel_of_the_connection(client, router):
    """As in django-socketio, socket.broadcast_channel(message) goes to each channel the connection subscribed to."""

    @events.on_message(channel="^room-1$")
    def message(request, socket, context, message):
        assert socket.channels == ["room-1", "room-2"]
        socket.broadcast_channel(message)

    ann, bob = client(), client()
    a = ann.subscribe("room-1")
    ann.subscribe("room-2")
    bob.subscribe("room-1"), bob.subscribe("room-2")
    a.emit("message", {"text": "both"})
    assert bob.received("message", channel="room-1") == bob.received("message", channel="room-2") == [{"text": "both"}]
    assert ann.received("message") == []


def test_socket_broadcast_reaches_every_other_connection_on_the_root_namespace(client, router):
    """socket.broadcast() and send_and_broadcast() go to the root namespace of every (other) connection."""

    @events.on_message
    def message(request, socket, context, message):
        getattr(socket, message["how"])(message)

    ann, bob = client(), client()
    a, b = ann.subscribe(""), bob.subscribe("")
    a.emit("message", {"how": "broadcast"})
    a.emit("message", {"how": "send_and_broadcast"})
    assert [m["how"] for m in a.received("message")] == ["send_and_broadcast"]
    assert [m["how"] for m in b.received("message")] == ["broadcast", "send_and_broadcast"]


def test_socket_session_id_is_the_connection_id(client, router):
    """socket.session.session_id names the connection, the same on each of its subscriptions."""
    seen = []
    events.on_subscribe(lambda request, socket, context, channel: seen.append(socket.session.session_id))
    ann = client()
    ann.subscribe("room-1"), ann.subscribe("room-2")
    assert seen == [ann.connection_id, ann.connection_id]


def test_module_send_by_session_id(client, router):
    """send(session_id, message) reaches the connection's root namespace, else its first subscription; NoSocket if none."""
    ann, bob = client(), client()
    ann.subscribe("room-1"), ann.subscribe("")
    bob.subscribe("room-1")
    send(ann.connection_id, {"to": "ann"})
    send(bob.connection_id, {"to": "bob"})
    assert ann.received("message", channel="") == [{"to": "ann"}]
    assert bob.received("message", channel="room-1") == [{"to": "bob"}]
    with pytest.raises(NoSocket, match="There is no socket with the session ID 'gone' in this process"):
        send("gone", {})


def test_module_broadcasts_include_everyone_and_need_no_socket(client, router):
    """broadcast_channel() and broadcast(), from outside any handler, reach every subscriber; nobody subscribed is no error."""
    ann, bob = client(), client()
    ann.subscribe("room-1"), ann.subscribe("")
    bob.subscribe("room-2"), bob.subscribe("")
    broadcast_channel({"text": "room 1"}, "room-1")
    broadcast({"text": "all"})
    broadcast_channel({"text": "nobody"}, "room-9")
    assert ann.received("message") == [{"text": "room 1"}, {"text": "all"}]
    assert bob.received("message") == [{"text": "all"}]


def test_urls_import_every_apps_events_module(monkeypatch):
    """Including socketio_views.compat.urls registers the handlers of each installed app's events.py."""
    import importlib
    import sys

    # Imported afresh, whatever an earlier test of this process imported or cleared.
    for name in ("socketio_views.compat.urls", "tests.djsocketio_chat.events"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    for event in EVENTS:
        monkeypatch.setattr(event, "handlers", [])
    importlib.import_module("socketio_views.compat.urls")
    from tests.djsocketio_chat import events as chat_events

    assert (chat_events.message, re.compile("^room-")) in events.on_message.handlers
    assert (chat_events.finish, re.compile("^room-")) in events.on_finish.handlers


def test_the_chat_ported_to_a_channel_view_behaves_as_the_compat_one():
    """tests/djsocketio_chat/channels.py, the port shown in the docs, sends what events.py sends."""
    from tests.djsocketio_chat.channels import router
    from tests.djsocketio_chat.models import ChatRoom

    room = ChatRoom.objects.create(name="Lobby")
    channel = f"room-{room.id}"
    ann, bob = ChannelTestClient(router=router), ChannelTestClient(router=router)
    a, b = ann.subscribe(channel), bob.subscribe(channel)
    a.emit("message", {"room": room.id, "action": "start", "name": "<i>ann</i>"})
    ann_id = room.users.get(name="ann").id
    assert a.received("message") == [{"action": "started", "users": []}, {"action": "join", "name": "ann", "id": ann_id}]
    assert room.users.get(name="ann").session == ann.connection_id
    b.emit("message", {"room": room.id, "action": "start", "name": "ann"})
    assert b.received("message")[-1] == {"action": "in-use"}
    b.emit("message", {"room": room.id, "action": "start", "name": "bob"})
    a.emit("message", {"room": room.id, "action": "message", "message": "<b>hi</b>"})
    said = {"room": room.id, "action": "message", "message": "hi", "name": "ann"}
    assert a.received("message")[-1] == b.received("message")[-1] == said
    a.unsubscribe()
    assert b.received("message")[-1] == {"action": "leave", "name": "ann", "id": ann_id}
    assert a.received("message")[-1] == said
    assert list(room.users.values_list("name", flat=True)) == ["bob"]
    with pytest.raises(SubscriptionRefused) as refused:
        ann.subscribe("room-999999")
    assert refused.value.code == "refused"


def test_each_message_is_logged_by_the_receiver_the_docs_show(client, router, caplog):
    """tests/djsocketio_chat/logs.py logs one line per message, as SOCKETIO_MESSAGE_LOG_FORMAT did."""
    room = client().subscribe("room-1")
    with caplog.at_level("INFO", logger="chat.messages"):
        room.emit("message", {"text": "hi"})
    assert [r.getMessage() for r in caplog.records if r.name == "chat.messages"] == [
        "127.0.0.1 \"Socket.IO message on room-1: {'text': 'hi'}\""
    ]


def test_register_serves_the_channels_a_router_does_not_with_the_events_handlers(router):
    """compat.register(router) after a ported view: its channels go to the view, every other one to events.py."""
    from socketio_views.compat import EventsChannel
    from tests.djsocketio_chat.channels import ChatRoomChannel
    from tests.djsocketio_chat.models import ChatRoom
    from tests.djsocketio_chat.routing import router as mixed

    @events.on_message(channel="^dashboard$")
    def dashboard(request, socket, context, message):
        socket.send({"seen": message})

    room = ChatRoom.objects.create(name="Lobby")
    client = ChannelTestClient(router=mixed)
    assert type(client.subscribe(f"room-{room.id}").view) is ChatRoomChannel
    board = client.subscribe("dashboard")
    assert type(board.view) is EventsChannel
    board.emit("message", {"n": 1})
    assert board.received("message") == [{"seen": {"n": 1}}]


def test_an_exception_in_on_subscribe_refuses_the_subscription(client, calls):
    """A handler raising PermissionDenied in on_subscribe refuses with permission_denied, after on_error; nothing is kept."""
    from django.core.exceptions import PermissionDenied

    calls.record("on_error", "^staff-")

    @events.on_subscribe(channel="^staff-")
    def staff_only(request, socket, context, channel):
        raise PermissionDenied("Staff only.")

    ann = client()
    with pytest.raises(SubscriptionRefused) as refused:
        ann.subscribe("staff-room")
    assert (refused.value.code, refused.value.message) == ("permission_denied", "Staff only.")
    assert [(name, channel, type(exc)) for name, channel, exc in calls] == [("on_error", "staff-room", PermissionDenied)]
    assert ann.connection_id not in connections
