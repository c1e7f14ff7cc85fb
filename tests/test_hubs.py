"""One send path: views and the module functions follow the same rules through the hub in force."""
import attrs
import pytest
from django.test import override_settings

import socketio_views
from socketio_views import ChannelRouter, ChannelView
from socketio_views.hubs import PublisherHub, get_hub, use_hub
from socketio_views.sending import Outbox
from socketio_views.transport.server import ServerHub, get_server
from socketio_views.testing import ChannelTestClient, default_hub

REDIS_URL = "redis://127.0.0.1:6379/0"


@attrs.define
class Note:
    text: str
    tags: tuple = ()


class Sender(ChannelView):
    """Sends what the test asks through the view's own methods."""

    def on_broadcast(self, data, name):
        self.broadcast(*data["args"], **data.get("kwargs", {}))

    def on_note(self, data, name):
        self.broadcast(Note("hi", ("a",)), event="note")
        self.send(Note("you", ()), event="note")


@pytest.fixture
def room():
    router = ChannelRouter()
    router.register("send/<str:name>", Sender)
    return ChannelTestClient(router=router).subscribe("send/x")


@pytest.mark.parametrize("event", ["connect", "disconnect", "connect_error", "subscribe", "newListener"])
def test_reserved_event_names_are_refused_by_every_sender(room, event):
    """A reserved event name raises the same ValueError from a view and from the module functions."""
    message = f"'{event}' is reserved by Socket.IO; choose another event name."
    with pytest.raises(ValueError, match=message):
        room.view.broadcast({}, event=event)
    with pytest.raises(ValueError, match=message):
        room.view.send({}, event=event)
    with pytest.raises(ValueError, match=message):
        socketio_views.broadcast("send/x", {}, event=event)
    with pytest.raises(ValueError, match=message):
        socketio_views.send(room.sid, {}, event=event)
    assert room.received() == []


def test_a_reserved_name_in_a_handler_is_a_server_error_and_sends_nothing(room):
    """A handler that broadcasts a reserved name gets server_error, and nobody receives anything."""
    assert room.emit("broadcast", {"args": [{}, "disconnect"]})["error"]["code"] == "server_error"
    assert room.received("disconnect") == []


def test_attrs_instances_are_sent_as_objects_by_every_sender(room):
    """An attrs instance reaches subscribers as a JSON object, from a view and from the module functions."""
    room.emit("note")
    socketio_views.broadcast("send/x", Note("module", ("b",)), event="note")
    socketio_views.send(room.sid, Note("direct"), event="note")
    assert room.received("note") == [
        {"text": "hi", "tags": ["a"]},
        {"text": "you", "tags": []},
        {"text": "module", "tags": ["b"]},
        {"text": "direct", "tags": []},
    ]


def test_channel_names_with_a_leading_slash_are_refused_by_every_sender(room):
    """'/rooms/x' is a namespace, not a channel name: both senders say which name to use."""
    with pytest.raises(ValueError, match="use 'send/x', not '/send/x'"):
        socketio_views.broadcast("/send/x", {})
    with pytest.raises(ValueError, match="use 'send/x', not '/send/x'"):
        socketio_views.send(room.sid, {}, channel="/send/x")


def test_send_without_channel_asks_the_hub_which_channel_holds_the_subscription(room):
    """The hub answers which channel holds a sid; an unknown sid asks for channel=."""
    assert get_hub().channel_of(room.sid) == "send/x"
    socketio_views.send(room.sid, {"n": 1}, event="direct")
    room.assert_received("direct", {"n": 1})
    with pytest.raises(LookupError, match="No subscription 'nope' in this process; pass channel="):
        socketio_views.send("nope", {})


def test_a_view_sends_through_an_outbox_over_its_transport_hub(room):
    """A subscription's hub is an Outbox over the transport's hub, open once the client is subscribed."""
    assert isinstance(room.view.hub, Outbox)
    assert room.view.hub.hub is default_hub()
    assert room.view.hub.held is None


def test_the_hub_in_force(settings):
    """The test hub during tests; else the server's hub, or a publisher over the backend in a send-only process."""
    assert get_hub() is default_hub()
    use_hub(None)
    try:
        with override_settings(SOCKETIO_VIEWS={}):
            assert isinstance(get_hub(), ServerHub)
            assert get_hub() is get_server().hub
        with override_settings(SOCKETIO_VIEWS={"BACKEND": REDIS_URL}):
            hub = get_hub()
            assert isinstance(hub, PublisherHub)
            assert hub.manager.write_only
            assert get_hub() is hub
            with pytest.raises(RuntimeError, match="This process serves no sockets"):
                hub.unsubscribe("rooms/x", "sid")
    finally:
        use_hub(default_hub())


def test_emit_counts_messages_per_channel_only_while_sampled(room):
    """Hub.emit counts each message once per channel after emit_counts.start(), never refused ones; take() starts again from zero."""
    from socketio_views.sending import emit_counts

    assert emit_counts.counts is None
    socketio_views.broadcast("send/x", {"n": 0})
    assert {} == emit_counts.take()  # not counting: nothing kept
    emit_counts.start()
    try:
        assert {} == emit_counts.take()
        socketio_views.broadcast("send/x", {"n": 1})
        socketio_views.broadcast("send/y", {"n": 2})
        room.emit("note", {})  # a broadcast and a send on send/x
        with pytest.raises(ValueError):
            socketio_views.broadcast("send/x", {}, event="connect")
        assert {"send/x": 3, "send/y": 1} == emit_counts.take()
        assert {} == emit_counts.take()
    finally:
        emit_counts.stop()
    assert emit_counts.counts is None
