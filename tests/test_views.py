"""ChannelView: which client events reach which handlers."""
import pytest

from socketio_views import ChannelRouter, ChannelView
from socketio_views.exceptions import UnknownEvent
from socketio_views.views import is_client_event


class Chat(ChannelView):
    def on_message(self, data):
        return "message"

    def on_typing_started(self, data):
        return "typing"

    def on__hidden(self, data):
        return "hidden"

    on_not_callable = "just a string"


class Restricted(Chat):
    event_names = {"message"}


@pytest.mark.parametrize(
    "event, legal",
    [
        ("message", True),
        ("typing_started", True),
        ("Move2", True),
        ("connect", False),
        ("disconnect", False),
        ("subscribe", False),
        ("unsubscribe", False),
        ("error", False),
        ("_private", False),
        ("__init__", False),
        ("has-dash", False),
        ("", False),
        (None, False),
        (42, False),
        ("x" * 101, False),
    ],
)
def test_is_client_event(event, legal):
    """Only names made of letters, digits and underscores, starting with a letter and not reserved, are events."""
    assert is_client_event(event) is legal


def test_handlers_are_collected_from_on_methods():
    """on_<event> methods become handlers; lifecycle hooks, private names and non-callables do not."""
    assert Chat.allowed_events() == {"message": "on_message", "typing_started": "on_typing_started"}


def test_event_names_restricts_the_handlers():
    """event_names allows a subset of the handlers, like http_method_names."""
    assert Restricted.allowed_events() == {"message": "on_message"}


def test_get_handler_refuses_unknown_events_with_the_channel_name():
    """An unknown event raises UnknownEvent naming the channel and the event."""
    view = Chat()
    view.channel = "rooms/x"
    assert view.get_handler("message")(None) == "message"
    with pytest.raises(UnknownEvent, match="Channel 'rooms/x' does not handle event 'subscribe'."):
        view.get_handler("subscribe")


def test_initkwargs_set_attributes():
    """Keyword arguments set instance attributes, as View(**initkwargs) does."""
    assert Chat(event_names=None).event_names is None


def test_reserved_event_names_cannot_be_sent():
    """Sending a Socket.IO reserved event name is a programming error, reported at once."""
    from socketio_views.testing import InMemoryHub

    view = Chat()
    view.hub, view.channel, view.sid = InMemoryHub(), "rooms/x", "sid"
    with pytest.raises(ValueError, match="'disconnect' is reserved"):
        view.send({}, event="disconnect")


def test_mixins_after_channel_view_are_refused():
    """A mixin placed after ChannelView would never run: the class definition fails and says where it goes."""
    from django.core.exceptions import ImproperlyConfigured

    from socketio_views.mixins import LoginRequiredMixin

    with pytest.raises(ImproperlyConfigured, match=r"Put mixins before ChannelView: class Wrong\(LoginRequiredMixin"):

        class Wrong(ChannelView, LoginRequiredMixin):
            pass


def test_the_corrected_line_names_only_the_mixins_listed():
    """The message's corrected line lists the mixins the class named, not their bases (AccessMixin)."""
    from django.core.exceptions import ImproperlyConfigured

    from socketio_views.mixins import LoginRequiredMixin, RateLimitMixin

    expected = (
        "Wrong lists LoginRequiredMixin, RateLimitMixin after ChannelView, where they never run. "
        "Put mixins before ChannelView: class Wrong(LoginRequiredMixin, RateLimitMixin, ..., ChannelView)."
    )
    with pytest.raises(ImproperlyConfigured) as refused:

        class Wrong(ChannelView, LoginRequiredMixin, RateLimitMixin):
            pass

    assert str(refused.value) == expected


@pytest.mark.parametrize("name", ["channel", "sid", "hub", "request", "connection_id"])
def test_attributes_the_framework_sets_cannot_be_defined(name):
    """A subclass attribute that setup() would overwrite is refused when the class is created."""
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured, match=f"Shadowing defines {name}, which ChannelView sets for each subscription"):
        type("Shadowing", (ChannelView,), {name: "x"})


def test_framework_plumbing_is_out_of_the_subclass_namespace():
    """Methods a user may well define (release, has_held, _emit, _guard) no longer touch delivery."""
    class Careless(ChannelView):
        def release(self):
            raise AssertionError("never called")

        has_held = _emit = _guard = release

    from socketio_views.testing import ChannelTestClient

    router = ChannelRouter()
    router.register("careless", Careless)
    room = ChannelTestClient(router=router).subscribe("careless")
    room.view.broadcast({"ok": True})
    room.assert_received("message", {"ok": True})
