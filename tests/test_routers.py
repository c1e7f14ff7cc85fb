"""ChannelRouter: Django's path() and re_path() machinery applied to channel names."""
import uuid

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.urls import NoReverseMatch

from socketio_views import ChannelRouter, ChannelView
from socketio_views.exceptions import ChannelNotFound
from socketio_views import mounts
from socketio_views.mounts import mounted_match, mounted_routers
from socketio_views.outgoing import view_class_of

from .testapp.routing import router as test_router


class Room(ChannelView):
    pass


class Other(ChannelView):
    colour = "blue"


@pytest.fixture
def router():
    router = ChannelRouter()
    router.register("rooms/<slug:room>", Room, name="room")
    router.register("users/<int:user_id>/inbox", Other, initkwargs={"colour": "red"})
    router.register(r"^legacy/(?P<code>[A-Z]{3})$", Other, regex=True, name="legacy")
    return router


def test_resolve_returns_view_class_and_converted_kwargs(router):
    """A match carries the view class, the captured kwargs converted, and the route."""
    match = router.resolve("users/7/inbox")
    assert match.view_class is Other
    assert match.kwargs == {"user_id": 7}
    assert match.initkwargs == {"colour": "red"}
    assert match.route == "users/<int:user_id>/inbox"


def test_regex_patterns(router):
    """regex=True patterns use re_path() semantics."""
    assert router.resolve("legacy/ABC").kwargs == {"code": "ABC"}
    with pytest.raises(ChannelNotFound):
        router.resolve("legacy/abc")


@pytest.mark.parametrize("channel", ["rooms/", "rooms/a/b", "rooms/not a slug", "users/x/inbox", "", "x" * 300])
def test_unmatched_channels_raise_channel_not_found(router, channel):
    """Anything no pattern matches raises ChannelNotFound with code channel_not_found."""
    with pytest.raises(ChannelNotFound) as info:
        router.resolve(channel)
    assert info.value.code == "channel_not_found"


def test_non_string_channel_is_not_found(router):
    """A channel name that is not a string is refused, not a crash."""
    with pytest.raises(ChannelNotFound, match="Invalid channel name."):
        router.resolve(None)


def test_uuid_converter():
    """uuid patterns give UUID objects."""
    key = uuid.uuid4()
    assert test_router.resolve(f"objects/{key}").kwargs == {"key": key}


def test_registered_custom_converter():
    """Converters added with register_converter() work in channel patterns."""
    assert test_router.resolve("archive/2024").kwargs == {"year": 2024}


def test_reverse_builds_channel_names(router):
    """reverse() turns a pattern name and kwargs into a channel name."""
    assert router.reverse("room", room="lobby") == "rooms/lobby"
    assert router.reverse("legacy", code="XYZ") == "legacy/XYZ"
    with pytest.raises(NoReverseMatch, match="No channel named 'room'"):
        router.reverse("room", room="not a slug")


def test_register_refuses_non_views():
    """Registering something that is not a ChannelView class says what to pass."""
    router = ChannelRouter()
    with pytest.raises(ImproperlyConfigured, match="must be a ChannelView subclass"):
        router.register("x", Room())
    with pytest.raises(ImproperlyConfigured, match="must be a ChannelView subclass"):
        router.register("x", object)


def test_register_refuses_unknown_initkwargs():
    """initkwargs must name existing class attributes, as View.as_view() requires."""
    with pytest.raises(TypeError, match=r"Room\(\) received an invalid keyword 'nope'"):
        ChannelRouter().register("x", Room, initkwargs={"nope": 1})


def test_register_refuses_captures_that_clash_with_handler_arguments():
    """A pattern capturing 'data' or 'self' would clash with handler arguments."""
    with pytest.raises(ImproperlyConfigured, match=r"captures \['data'\]"):
        ChannelRouter().register("x/<str:data>", Room)


def test_registering_again_rebuilds_the_resolver(router):
    """The compiled resolver is cached and rebuilt after a new registration."""
    first = router.resolver
    assert router.resolver is first
    router.register("late/<str:x>", Room)
    assert router.resolver is not first
    assert router.resolve("late/y").kwargs == {"x": "y"}


def test_urls_mount_the_endpoint_and_are_discoverable():
    """router.urls is included like any URLconf, and mounted_routers() finds it."""
    assert mounted_routers() == [("socket.io/", test_router)]


@pytest.fixture
def walks(router, monkeypatch):
    """``router`` mounted as the project's only one; the list grows by one each time the routers are walked."""
    walked = []

    def counting(urlconf=None):
        walked.append(urlconf)
        return [("socket.io/", router)]

    monkeypatch.setattr(mounts, "mounted_routers", counting)
    mounts.forget_matches()
    return walked


def test_a_channels_view_is_looked_up_once_for_history_and_emits_checks(walks):
    """mounted_match() walks the routers once per channel name; view_class_of() (emits checks) shares its answer."""
    from socketio_views.history import policy_for

    assert Other is mounted_match("users/7/inbox").view_class
    assert Other is view_class_of("users/7/inbox")
    assert policy_for("users/7/inbox") is None  # Other keeps no history
    assert mounted_match("nowhere") is None and view_class_of("nowhere") is None
    assert [None, None] == walks  # "users/7/inbox", then "nowhere"


def test_registering_a_pattern_forgets_the_remembered_matches(router, walks):
    """A channel that matched nothing finds the view registered for it since."""
    assert view_class_of("late/y") is None
    router.register("late/<str:x>", Room)
    assert Room is view_class_of("late/y")
    assert 2 == len(walks)


def test_a_new_root_urlconf_forgets_the_remembered_matches(walks, settings):
    """Changing ROOT_URLCONF forgets the matches: the next lookup walks the routers again."""
    mounted_match("rooms/lobby")
    settings.ROOT_URLCONF = "tests.testapp.urls_two_routers"
    mounted_match("rooms/lobby")
    assert 2 == len(walks)


def test_registration_is_not_an_http_view(router):
    """The pattern objects Django stores are never callable as views."""
    registration = router.registry[0]
    with pytest.raises(TypeError, match="is not an HTTP view"):
        registration(None)


def test_initkwargs_reach_each_instance():
    """Attributes given as initkwargs at registration are set on the view serving each subscription."""
    from socketio_views.testing import ChannelTestClient

    class Greeter(ChannelView):
        greeting = "hello"

        def on_greet(self, data):
            return self.greeting

    router = ChannelRouter()
    router.register("greet", Greeter, initkwargs={"greeting": "hola"})
    assert ChannelTestClient(router=router).subscribe("greet").emit("greet") == "hola"
