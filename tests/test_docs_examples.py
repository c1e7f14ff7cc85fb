"""The Python code the documentation shows, run.

Every Python block of docs/ is a ``literalinclude`` of a real file: the
example app and project in docs/examples/ (``chat`` and ``myproject``,
importable here as the pages name them), this module's tests, or
tests/test_docs_live.py. The tests below import those files and exercise
them with :class:`~socketio_views.testing.ChannelTestClient`; fragments
that cannot run alone (settings lines, an entry point that starts a server)
are compiled and the names they use checked. ``>>>`` sessions (``pycon``
blocks) are run as doctests. tests/test_docs.py refuses a Python block that
comes from none of these.
"""
import ast
import doctest
import importlib
import logging
import os
import re
import sys
from pathlib import Path
from types import SimpleNamespace
from unittest.mock import ANY

import pytest
from django.conf import global_settings
from django.contrib.auth.models import Group, User
from django.core.exceptions import ImproperlyConfigured
from django.test import Client, RequestFactory, modify_settings, override_settings
from django.urls import include, path, resolve
from django.urls import converters as url_converters
from django.urls import resolvers as url_resolvers

import socketio_views
from socketio_views import ChannelRouter, ChannelView, conf, mixins
from socketio_views.mounts import mounted_routers
from socketio_views.testing import ChannelTestCase, ChannelTestClient, SubscriptionRefused

from .testapp import channels as testapp_channels

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
EXAMPLES = DOCS / "examples"
#: The top-level packages of docs/examples/, the user's app and project of the pages.
EXAMPLE_PACKAGES = ("chat", "myproject")


@pytest.fixture(scope="module", autouse=True)
def examples():
    """docs/examples/ on sys.path while this module runs, its modules forgotten afterwards.

    chat/routing.py registers the ``yyyy`` converter, as tests/testapp/routing.py
    does: Django refuses a second registration of a name, so testapp's is set
    aside while the example registers its own, then put back.
    """
    sys.path.insert(0, str(EXAMPLES))
    importlib.import_module("tests.testapp.routing")
    testapp_converter = url_converters.REGISTERED_CONVERTERS.pop("yyyy")
    try:
        importlib.import_module("chat.routing")
    finally:
        url_converters.REGISTERED_CONVERTERS["yyyy"] = testapp_converter
        url_converters.get_converters.cache_clear()
        url_resolvers._route_to_regex.cache_clear()
    yield
    sys.path.remove(str(EXAMPLES))
    for name in list(sys.modules):
        if name.split(".")[0] in EXAMPLE_PACKAGES:
            del sys.modules[name]


def example(name):
    """The module ``name`` of docs/examples/."""
    return importlib.import_module(name)


def section(path, marker):
    """The lines of docs/examples/<path> between ``# [marker]`` and ``# [/marker]``."""
    text = (EXAMPLES / path).read_text()
    match = re.search(rf"^ *# \[{re.escape(marker)}\]\n(.*?)^ *# \[/{re.escape(marker)}\]$", text, re.S | re.M)
    assert match, f"docs/examples/{path} has no [{marker}] section"
    return match.group(1)


def router_of(pattern, view):
    """A router with ``view`` at ``pattern``."""
    router = ChannelRouter()
    router.register(pattern, view)
    return router


# docs/index.rst


def test_the_smallest_channel_broadcasts_and_acknowledges():
    """index.rst's RoomChannel sends a message to every subscriber, the sender included, and acknowledges it."""
    router = router_of("rooms/<slug:room>", example("quickstart").RoomChannel)
    alice, bob = ChannelTestClient(router=router), ChannelTestClient(router=router)
    room = alice.subscribe("rooms/lobby")
    bob.subscribe("rooms/lobby")
    assert room.emit("message", {"text": "hi"}) == {"ok": True}
    alice.assert_received("message", {"text": "hi"})
    bob.assert_received("message", {"text": "hi"})


# docs/channels.rst


def test_the_room_channels_handlers_do_what_the_page_says():
    """channels.rst's RoomChannel: joins, messages, typing for others, renames, and who left."""
    from chat.routing import router

    alice, bob = ChannelTestClient(router=router, auth={"name": "alice"}), ChannelTestClient(router=router)
    room = alice.subscribe("rooms/lobby")
    alice.assert_received("message", {"joined": "alice"})
    bob_room = bob.subscribe("rooms/lobby")
    room.assert_received("message", {"joined": "anonymous"})
    assert room.emit("message", {"text": "hi"}) == {"ok": True}
    bob.assert_received("message", {"user": "alice", "text": "hi"})
    room.emit("typing")
    bob.assert_received("typing", {"user": "alice"})
    alice.assert_not_received("typing")
    assert room.emit("rename", {"name": " "})["error"]["code"] == "empty_name"
    assert room.emit("rename", {"name": "ally"}) == {"name": "ally"}
    room.unsubscribe()
    bob.assert_received("left", {"left": "ally"})
    with pytest.raises(SubscriptionRefused) as refused:
        bob.subscribe("rooms/staff")
    assert refused.value.code == "permission_denied"
    assert bob_room.emit("message", {"text": "still here"}) == {"ok": True}


def test_a_send_with_callback_gets_the_clients_answer():
    """channels.rst: on_ask sends a question; the client's acknowledgement reaches got_answer."""
    from chat.routing import router

    alice = ChannelTestClient(router=router)
    alice.answers["question"] = lambda data: {"answer": data["q"] * 2}
    room = alice.subscribe("rooms/lobby")
    room.emit("ask", {"q": 21})
    room.assert_received("question", {"q": 21})
    room.assert_received("answered", {"answer": 42})


def test_event_names_narrows_the_handlers():
    """channels.rst: ReadOnlyRoom's event_names leaves typing reachable, and message and rename not."""
    from chat.routing import router

    room = ChannelTestClient(router=router).subscribe("readonly/lobby")
    assert type(room.view) is example("chat.channels").ReadOnlyRoom
    assert room.emit("message", {"text": "hi"})["error"]["code"] == "unknown_event"
    assert room.emit("rename", {"name": "x"})["error"]["code"] == "unknown_event"
    assert room.emit("typing") is None


def test_an_attrs_payload_is_built_or_the_handler_is_not_called():
    """channels.rst's typed RoomChannel receives a ChatMessage; a text over 500 characters is refused."""
    router = router_of("rooms/<slug:room>", example("chat.typed").RoomChannel)
    eve = ChannelTestClient(router=router, user=User(username="eve"))
    room = eve.subscribe("rooms/lobby")
    assert room.emit("message", {"text": "hi"}) == {"ok": True}
    room.assert_received("message", {"user": "eve", "text": "hi"})
    assert room.emit("message", {"text": "x" * 501})["error"]["code"] == "invalid"
    assert len(room.received("message")) == 1


# docs/routing.rst


def test_the_router_resolves_each_pattern_with_its_converter():
    """routing.rst's router: slug, int, uuid, the registered yyyy converter and a regular expression."""
    from chat.routing import router

    assert router.resolve("users/7/inbox").kwargs == {"user_id": 7}
    assert str(router.resolve("documents/6f1c7f4e-52f6-4c2e-9a31-4a3b0e0f6f11").kwargs["key"]).startswith("6f1c")
    assert router.resolve("archive/2024").kwargs == {"year": 2024}
    assert router.resolve("legacy/ABC").kwargs == {"code": "ABC"}
    for name in ("legacy/ABCD", "legacy/abc", "/rooms/lobby"):
        with pytest.raises(SubscriptionRefused):
            router.resolve(name)
    inbox = ChannelTestClient(router=router)
    inbox.subscribe("users/7/inbox")
    inbox.assert_received("inbox", {"user_id": 7})


def test_the_project_urlconf_mounts_the_router():
    """routing.rst's myproject/urls.py includes the router at socket.io/, where the test client finds it."""
    from chat.routing import router

    assert mounted_routers("myproject.urls") == [("socket.io/", router)]
    with override_settings(ROOT_URLCONF="myproject.urls"):
        ChannelTestClient(auth={"name": "eve"}).subscribe("rooms/lobby").assert_received("message", {"joined": "eve"})


def test_two_routers_have_two_endpoints():
    """routing.rst: each router of the URLconf is mounted at its own prefix."""
    module = example("myproject.two_routers")
    from chat.routing import router

    assert mounted_routers("myproject.two_routers") == [("socket.io/", router), ("staff-io/", module.staff_router)]
    desk = ChannelTestClient(router=module.staff_router, path="/staff-io/")
    desk.subscribe("desk/help")


def test_initkwargs_set_attributes_on_each_instance():
    """routing.rst: one class at two patterns, with max_length set for one of them."""
    router = example("initkwargs").router
    client = ChannelTestClient(router=router)
    assert client.subscribe("rooms/lobby").view.max_length == 500
    assert client.subscribe("announcements/lobby").view.max_length == 5000


def test_a_reversed_channel_name_reaches_its_subscribers():
    """routing.rst: router.reverse() names the channel that socketio_views.broadcast() sends to."""
    from chat.routing import router

    room = ChannelTestClient(router=router).subscribe("rooms/lobby")
    example("chat.notices").closing_soon(SimpleNamespace(slug="lobby"))
    room.assert_received("message", {"text": "Closing soon"})


def pycon_blocks():
    """(page, line, text) of every ``code-block:: pycon`` in docs/."""
    for path in sorted(DOCS.glob("*.rst")):
        lines = path.read_text().splitlines()
        for number, line in enumerate(lines):
            if line.strip() == ".. code-block:: pycon":
                indent = len(line) - len(line.lstrip())
                body = []
                for text in lines[number + 1:]:
                    if text.strip() and len(text) - len(text.lstrip()) <= indent:
                        break
                    body.append(text)
                yield path.name, number + 1, "\n".join(body)


#: The names each page's ``>>>`` sessions use, by page.
PYCON_GLOBALS = {"routing.rst": lambda: {"router": importlib.import_module("chat.routing").router}}


@pytest.mark.parametrize("page, line, text", list(pycon_blocks()))
def test_the_interactive_sessions_print_what_the_pages_show(page, line, text):
    """Each ``>>>`` line of a pycon block prints what the page shows under it."""
    assert page in PYCON_GLOBALS, f"docs/{page}:{line}: a pycon block on a page with no namespace here"
    test = doctest.DocTestParser().get_doctest(text, PYCON_GLOBALS[page](), f"{page}:{line}", str(DOCS / page), line)
    assert test.examples, f"docs/{page}:{line} has no >>> line"
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    runner.run(test, out=lambda text: pytest.fail(text))
    assert runner.summarize(verbose=False).failed == 0


# docs/sending.rst


@pytest.mark.django_db
def test_an_ordinary_view_broadcasts_a_notice():
    """sending.rst's announce view sends a notice to the room's subscribers."""
    room = ChannelTestClient(router=example("chat.routing").router).subscribe("rooms/lobby")
    request = RequestFactory().post("/announce/lobby/", {"text": "Closing at six"})
    request.user = User.objects.create_user("staff", is_staff=True)
    response = example("chat.views").announce(request, "lobby")
    assert response.status_code == 200 and response.content == b'{"sent": true}'
    room.assert_received("notice", {"text": "Closing at six"})


def test_a_price_channel_drops_what_a_slow_reader_misses(settings):
    """sending.rst's PriceChannel: with "drop", a client that stops reading loses messages but stays subscribed."""
    settings.SOCKETIO_VIEWS = {"MAX_QUEUED_BYTES": 1_000}
    from chat.routing import router

    reader = ChannelTestClient(router=router)
    prices = reader.subscribe("prices/ACME")
    reader.pause()
    for n in range(50):
        socketio_views.broadcast("prices/ACME", {"n": n, "pad": "x" * 50})
    reader.resume()
    assert not prices.closed
    assert 0 < len(prices.received("message")) < 50


# docs/signals.rst


def test_the_receivers_log_joins_leaves_and_refusals(caplog):
    """signals.rst: ChatConfig.ready() imports chat/receivers.py, whose receivers log to "chat"."""
    from django.apps import AppConfig

    ChatConfig = example("chat.apps").ChatConfig
    from socketio_views import signals

    assert issubclass(ChatConfig, AppConfig)
    sys.modules.pop("chat.receivers", None)
    ChatConfig("chat", sys.modules["chat"]).ready()
    receivers = sys.modules["chat.receivers"]
    try:
        from chat.routing import router

        client = ChannelTestClient(router=router)
        with caplog.at_level(logging.INFO, logger="chat"):
            client.subscribe("rooms/lobby").unsubscribe()
            with pytest.raises(SubscriptionRefused):
                client.subscribe("rooms/staff")
        assert [record.getMessage() for record in caplog.records if record.name == "chat"] == [
            "AnonymousUser joined rooms/lobby",
            "AnonymousUser left rooms/lobby (client disconnect)",
            "AnonymousUser refused rooms/staff: permission_denied",
        ]
    finally:
        signals.subscribed.disconnect(receivers.room_joined, sender=receivers.RoomChannel)
        signals.unsubscribed.disconnect(receivers.room_left, sender=receivers.RoomChannel)
        signals.subscription_refused.disconnect(receivers.turned_away)


# docs/history.rst


def test_a_newcomer_gets_the_snapshot_and_a_recovered_client_does_not():
    """history.rst's RoomChannel keeps messages and sends the snapshot only when nothing was recovered."""
    history_room = example("chat.history").RoomChannel
    assert (history_room.history, history_room.history_events, history_room.send_history_on_subscribe) == (
        100, {"message"}, 50
    )

    class Room(history_room):
        def on_message(self, data, room):
            self.broadcast(data)

    router = router_of("rooms/<slug:room>", Room)
    alice, bob = ChannelTestClient(router=router), ChannelTestClient(router=router)
    alice.subscribe("rooms/lobby").assert_received("snapshot", {"room": "lobby", "topic": "Welcome"})
    bob_room = bob.subscribe("rooms/lobby")
    bob_room.emit("message", {"text": "first"})
    alice.drop()
    alice.clear()
    bob_room.emit("message", {"text": "while you were away"})
    (room,) = alice.reconnect()
    assert room.recovered
    room.assert_received("message", {"text": "while you were away"})
    room.assert_not_received("snapshot")


class RecoveringRoom(testapp_channels.RoomChannel):
    """tests/testapp's RoomChannel with history, for the pages' recovery tests at rooms/lobby."""

    history = 100


recovering_router = router_of("rooms/<slug:room>", RecoveringRoom)


#: This module is the URLconf of the recovery tests: ChannelTestClient() finds recovering_router.
urlpatterns = [path("socket.io/", include(recovering_router.urls))]


@pytest.fixture
def recovering_rooms(settings):
    """ChannelTestClient() routes rooms/<slug:room> to RecoveringRoom."""
    settings.ROOT_URLCONF = __name__


@override_settings(ROOT_URLCONF=__name__)
class RecoveryTests(ChannelTestCase):
    """The tests docs/history.rst shows, on a room with history."""

    def test_a_dropped_client_recovers(self):
        alice = ChannelTestClient(auth={"name": "a"})
        bob = ChannelTestClient(auth={"name": "b"})
        alice.subscribe("rooms/lobby")
        bob_room = bob.subscribe("rooms/lobby")
        alice.drop()
        bob_room.emit("message", {"text": "while you were away"})
        (room,) = alice.reconnect()
        assert room.recovered
        room.assert_received("message", {"user": "b", "text": "while you were away"})


# docs/testing.rst


class QuizChannel(ChannelView):
    def on_ask(self, data):
        self.send({"q": data["q"]}, event="question", callback=self.got_answer)

    def got_answer(self, reply):
        self.send(reply, event="answered")


class TestingPageTests(ChannelTestCase):
    """The tests docs/testing.rst shows, against tests/testapp's channels."""

    def test_members_need_a_login(self):
        # [refused]
        with self.assertRaises(SubscriptionRefused) as refused:
            ChannelTestClient().subscribe("members/lobby")
        self.assertEqual(refused.exception.code, "login_required")
        # [/refused]

    def test_logout_ends_the_members_room(self):
        alice = ChannelTestClient(user=User.objects.create_user("alice"))
        room = alice.subscribe("members/lobby")

        alice.logout()

        self.assertTrue(room.closed)
        alice.assert_received(
            "error", {"message": ANY, "code": "logged_out", "event": None}
        )
        with self.assertRaises(SubscriptionRefused):
            alice.subscribe("members/lobby")

    def test_question_is_answered(self):
        router = ChannelRouter()
        router.register("quiz", QuizChannel)
        alice = ChannelTestClient(router=router)
        alice.answers["question"] = lambda data: {"answer": data["q"] * 2}
        room = alice.subscribe("quiz")

        room.emit("ask", {"q": 21})
        room.assert_received("answered", {"answer": 42})


@pytest.mark.usefixtures("recovering_rooms")
# [slow-reader]
def test_a_slow_reader_recovers(settings):
    settings.SOCKETIO_VIEWS = {"MAX_QUEUED_BYTES": 1_000}
    reader, writer = ChannelTestClient(), ChannelTestClient()
    room = reader.subscribe("rooms/lobby")
    lobby = writer.subscribe("rooms/lobby")
    reader.pause()
    for n in range(30):
        lobby.emit("message", {"text": "x" * 50})
    assert room.close_reason == "slow consumer"
    (room,) = reader.reconnect()
    assert room.recovered
# [/slow-reader]


# docs/security.rst


@pytest.mark.django_db
def test_the_access_mixins_refuse_as_the_page_says():
    """security.rst: members need a login, moderators two permissions, a team its group; stacked mixins refuse in order."""
    access = example("chat.access")
    router = ChannelRouter()
    router.register("members/<slug:room>", access.MembersChannel)
    router.register("moderators/<slug:room>", access.ModeratorsChannel)
    router.register("teams/<slug:team>", access.TeamChannel)
    router.register("staff/<slug:room>", access.StaffRoom)

    def refusal(client, channel):
        with pytest.raises(SubscriptionRefused) as refused:
            client.subscribe(channel)
        return refused.value.code, refused.value.message

    anonymous = ChannelTestClient(router=router)
    assert refusal(anonymous, "members/lobby")[0] == "login_required"
    assert refusal(anonymous, "staff/lobby")[0] == "login_required"
    eve = User.objects.create_user("eve")
    eve.groups.add(Group.objects.create(name="blue"))
    client = ChannelTestClient(router=router, user=eve)
    client.subscribe("members/lobby")
    client.subscribe("teams/blue")
    assert refusal(client, "teams/red")[0] == "permission_denied"
    assert refusal(client, "moderators/lobby") == ("permission_denied", "Moderators only.")
    assert refusal(client, "staff/lobby")[0] == "permission_denied"
    assert access.StaffRoom.rate_limit == "5/s"
    with pytest.raises(ImproperlyConfigured, match="Put mixins before ChannelView"):
        type("Late", (ChannelView, mixins.RateLimitMixin), {"__module__": __name__})


@pytest.mark.django_db
def test_the_rate_limit_refuses_a_flood_past_its_burst():
    """security.rst's RateLimitMixin RoomChannel: a burst of 10, then rate_limited."""
    router = router_of("rooms/<slug:room>", example("chat.limits").RoomChannel)
    room = ChannelTestClient(router=router, user=User.objects.create_user("eve")).subscribe("rooms/lobby")
    acks = [room.emit("message", {"text": "hi"}) for n in range(15)]
    assert acks[:10] == [None] * 10
    assert {"error": ANY} in acks[10:]
    assert {ack["error"]["code"] for ack in acks[10:] if ack} == {"rate_limited"}


def test_a_reply_as_an_attrs_instance_is_sent_as_an_object():
    """security.rst: ChatMessage is built with its default priority; Posted reaches subscribers as a JSON object."""
    router = router_of("rooms/<slug:room>", example("chat.payloads").RoomChannel)
    room = ChannelTestClient(router=router, user=User(username="eve")).subscribe("rooms/lobby")
    assert room.emit("message", {"text": "hi"}) == {"ok": True}
    room.assert_received("message", {"user": "eve", "text": "hi"})
    assert room.emit("message", {"text": "hi", "priority": "high"})["error"]["code"] == "invalid"


def test_a_views_own_converter_reads_and_writes_datetimes():
    """security.rst's CalendarChannel turns an ISO string into a datetime and back."""
    router = router_of("calendar", example("chat.calendar").CalendarChannel)
    calendar = ChannelTestClient(router=router).subscribe("calendar")
    meeting = {"title": "Standup", "starts": "2025-01-02T10:00:00"}
    assert calendar.emit("schedule", meeting) == meeting
    assert calendar.emit("schedule", {"title": "Standup", "starts": "soon"})["error"]["code"] == "invalid"


# Project files: docs/drain.rst, docs/deployment.rst, docs/admin.rst, docs/server.rst


def test_the_health_check_url_answers():
    """drain.rst: the health check at healthz/ answers 200 while serving."""
    pattern = example("myproject.health_urls").urlpatterns[0]
    match = pattern.resolve("healthz/")
    assert match.func.__name__ == "health_check"
    assert match.func(RequestFactory().get("/healthz/")).status_code == 200


def test_the_wsgi_module_serves_socketio_views_application():
    """drain.rst's wsgi.py: get_wsgi_application() wraps Django's application."""
    from socketio_views.wsgi import SocketIOApplication

    assert isinstance(example("myproject.wsgi").application, SocketIOApplication)


def test_the_gunicorn_conf_imports_the_worker_hooks(tmp_path, monkeypatch):
    """deployment.rst, operations.rst: one's own gunicorn.conf.py has the hooks.

    Its child_exit, called as gunicorn's master calls it, drops the exited
    worker's live gauge files from PROMETHEUS_MULTIPROC_DIR and keeps its
    counters and the other workers' gauges.
    """
    from socketio_views import tuning

    gunicorn_conf = example("myproject.gunicorn_conf")
    assert gunicorn_conf.post_worker_init is tuning.post_worker_init
    assert gunicorn_conf.child_exit is tuning.child_exit
    files = ["gauge_livesum_4242.db", "counter_4242.db", "gauge_livesum_4343.db"]
    for name in files:
        (tmp_path / name).write_bytes(b"")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    gunicorn_conf.child_exit(SimpleNamespace(), SimpleNamespace(pid=4242))
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(files[1:])


@pytest.mark.django_db
def test_the_metrics_url_serves_staff_and_refuses_anonymous():
    """operations.rst's urls.py: metrics/ answers a staff session, 403 to anonymous."""
    urls_metrics = example("myproject.urls_metrics")
    router = example("chat.routing").router
    assert mounted_routers("myproject.urls_metrics") == [("socket.io/", router)]
    with override_settings(ROOT_URLCONF=urls_metrics.__name__):
        anonymous = Client().get("/metrics/")
        assert anonymous.status_code == 403 and b"METRICS_TOKENS" in anonymous.content
        staff = Client()
        staff.force_login(User.objects.create_user("prometheus-reader", is_staff=True))
        response = staff.get("/metrics/")
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=")
    assert b"socketio_views_connections" in response.content


def test_the_live_channels_page_comes_before_the_admins_catch_all():
    """admin.rst: live_urls() at admin/live-channels/, the router at socket.io/, and in an admin site of one's own."""
    from django.contrib import admin

    from socketio_views.live import LIVE_CHANNEL

    with modify_settings(INSTALLED_APPS={"prepend": ["django.contrib.admin", "django.contrib.messages"]}):
        live_admin = example("myproject.live_admin")
        assert resolve("/admin/live-channels/", urlconf="myproject.live_admin").url_name == "live_channels"
        assert resolve("/admin/", urlconf="myproject.live_admin").url_name == "index"
        assert mounted_routers("myproject.live_admin") == [("socket.io/", live_admin.router)]
        assert live_admin.router.resolve(LIVE_CHANNEL)
        site = live_admin.MyAdminSite(name="mine")
        assert isinstance(site, admin.AdminSite)
        assert site.get_urls()[0].resolve("live-channels/").url_name == "live_channels"


def test_the_custom_entry_point_patches_before_importing_django():
    """server.rst's entry point calls patch() before any other import, then runs runserver_socketio."""
    from django.core.management import get_commands

    from socketio_views import monkey

    tree = ast.parse(section("myproject/run.py", "entry-point"))
    first, call, *rest = tree.body
    assert ast.unparse(first) == "from socketio_views.monkey import patch" and hasattr(monkey, "patch")
    assert ast.unparse(call) == "patch()"
    imported = [getattr(node, "module", None) or node.names[0].name for node in rest if isinstance(node, (ast.Import, ast.ImportFrom))]
    assert imported == ["os", "django.core.management"]
    assert get_commands()["runserver_socketio"] == "socketio_views"


FRAGMENTS = [
    "scaleout",
    "redis-cluster",
    "proxy-ssl",
    "client-ip",
    "allowed-origins",
    "logging",
    "sqlite-test-db",
    "metrics-access",
    "admin-ui",
    "admin-ui-options",
]


def run_fragment(marker):
    """The names a settings fragment sets, run with the module's BASE_DIR and os."""
    names = {"BASE_DIR": Path("/srv/myproject"), "os": os}
    code = compile(section("myproject/settings_fragments.py", marker), marker, "exec")
    exec(code, names)
    del names["__builtins__"], names["BASE_DIR"], names["os"]
    return names


@pytest.mark.parametrize("marker", FRAGMENTS)
def test_each_settings_fragment_sets_real_settings(marker, monkeypatch):
    """Each settings fragment the pages show sets Django settings or keys of socketio_views.conf.DEFAULTS."""
    monkeypatch.setenv("METRICS_TOKEN", "from-the-environment")
    names = run_fragment(marker)
    assert names
    for name, value in names.items():
        assert name.isupper() and (name == "SOCKETIO_VIEWS" or hasattr(global_settings, name)), name
    if "SOCKETIO_VIEWS" in names:
        options = names["SOCKETIO_VIEWS"]
        assert set(options) <= set(conf.DEFAULTS)
        with override_settings(SOCKETIO_VIEWS=options):
            for key, value in options.items():
                assert getattr(conf.views_settings, key) == value
    if "LOGGING" in names:
        assert "socketio_views" in names["LOGGING"]["loggers"]
    if "DATABASES" in names:
        database = names["DATABASES"]["default"]
        assert database["TEST"]["NAME"] != database["NAME"] != ":memory:"


def test_the_redis_cluster_fragment_shards_broadcasts_and_keeps_presence_on_a_plain_redis():
    """scaleout.rst: the Redis Cluster fragment makes a sharded RoutedRedisManager; presence and history are in
    its plain Redis, rate limits in the cluster."""
    from socketio_views import backends
    from socketio_views.transport.managers import RoutedRedisManager, write_only_manager

    options = run_fragment("redis-cluster")["SOCKETIO_VIEWS"]
    with override_settings(SOCKETIO_VIEWS=options):
        manager = write_only_manager()
        assert (RoutedRedisManager, True) == (type(manager), manager.sharded)
        assert (options["PRESENCE_URL"], options["BACKEND"]) == (backends.presence_url(), backends.rate_limit_storage_url())


@pytest.mark.django_db
def test_the_metrics_access_fragment_admits_its_token_and_network(monkeypatch):
    """operations.rst: the token of METRICS_TOKENS and an address of 10.0.0.0/8 read."""
    monkeypatch.setenv("METRICS_TOKEN", "from-the-environment")
    options = run_fragment("metrics-access")["SOCKETIO_VIEWS"]
    with override_settings(SOCKETIO_VIEWS=options, ROOT_URLCONF="myproject.urls_metrics"):
        for token, status in [("from-the-environment", 200), ("guessed", 403)]:
            response = Client().get("/metrics/", HTTP_AUTHORIZATION=f"Bearer {token}")
            assert response.status_code == status
        assert Client(REMOTE_ADDR="10.20.30.40").get("/metrics/").status_code == 200
        assert Client(REMOTE_ADDR="192.0.2.1").get("/metrics/").status_code == 403


def test_the_admin_ui_fragments_pass_its_option_check():
    """operations.rst: ADMIN_UI True and the dict of defaults pass admin_ui_options()."""
    from socketio_views.admin_ui import DEFAULT_OPTIONS, admin_ui_options

    on = run_fragment("admin-ui")["SOCKETIO_VIEWS"]
    with_options = run_fragment("admin-ui-options")["SOCKETIO_VIEWS"]
    assert with_options["ADMIN_UI"] == DEFAULT_OPTIONS, "the page calls them defaults"
    for options in (on, with_options):
        with override_settings(SOCKETIO_VIEWS=options):
            assert admin_ui_options() == DEFAULT_OPTIONS


def test_every_settings_fragment_is_tested():
    """FRAGMENTS names every section of settings_fragments.py."""
    text = (EXAMPLES / "myproject" / "settings_fragments.py").read_text()
    assert re.findall(r"^# \[([\w-]+)\]$", text, re.M) == FRAGMENTS


def test_every_example_file_is_shown_and_run():
    """Each .py file of docs/examples/ is included by a page and named, in quotes, by the tests that run it."""
    pages = "\n".join(path.read_text() for path in DOCS.glob("*.rst"))
    tests = "\n".join(
        (ROOT / "tests" / name).read_text()
        for name in ("test_docs_examples.py", "test_docs_live.py", "settings_json_logging.py")
    )
    for path in sorted(EXAMPLES.rglob("*.py")):
        relative = path.relative_to(EXAMPLES)
        if relative.name == "__init__.py":
            continue
        module = ".".join(relative.with_suffix("").parts)
        if module != "myproject.settings_test":  # named by the LiveServer snippet, not shown
            assert f"examples/{relative.as_posix()}" in pages, f"no page includes docs/examples/{relative}"
        names = (f'"{module}"', f'"{relative.as_posix()}"', f'"{relative.name}"')
        assert any(name in tests for name in names), f"no test runs docs/examples/{relative}"
