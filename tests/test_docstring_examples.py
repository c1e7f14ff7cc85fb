"""The ``Example usage::`` blocks of the package's docstrings, which the API pages show, run.

The blocks are read from the source of every module under socketio_views/,
so a new one fails :func:`test_every_example_has_a_runner` until it has one
in ``RUNNERS``: the names the block takes for granted, then what it did.
A block changed so that it no longer works fails its runner.
"""
import ast
import json
import re
import textwrap
import uuid
from pathlib import Path
from types import SimpleNamespace

import attrs
import pytest
import socketio
from django.contrib.auth.models import User
from django.urls import include, path

import socketio_views
from socketio_views import ChannelRouter, ChannelView
from socketio_views.testing import ChannelTestClient

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "socketio_views"

#: The line that opens a block: ``Example usage::``, or ``Example usage, <where>::``.
OPENING_RE = re.compile(r"^(\s*).*\bExample usage\b.*::\s*$")


def docstring_blocks(source):
    """``{qualified name: [block, ...]}`` of the ``Example usage::`` blocks in ``source``'s docstrings."""
    found = {}

    def visit(node, prefix):
        doc = ast.get_docstring(node)
        name = prefix or "<module>"
        if doc:
            blocks = list(literal_blocks(doc))
            if blocks:
                found[name] = blocks
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                visit(child, f"{prefix}.{child.name}" if prefix else child.name)

    visit(ast.parse(source), "")
    return found


def literal_blocks(doc):
    """The literal blocks that follow an ``Example usage...::`` line of ``doc``, dedented."""
    lines = doc.splitlines()
    for number, line in enumerate(lines):
        match = OPENING_RE.match(line)
        if not match:
            continue
        indent = len(match.group(1))
        body = []
        for following in lines[number + 1:]:
            if following.strip() and len(following) - len(following.lstrip()) <= indent:
                break
            body.append(following)
        yield textwrap.dedent("\n".join(body)).strip("\n")


def package_examples():
    """``{"socketio_views/<module>.py:<qualified name>": [block, ...]}`` for the whole package."""
    examples = {}
    for module in sorted(PACKAGE.rglob("*.py")):
        for name, blocks in docstring_blocks(module.read_text()).items():
            examples[f"{module.relative_to(ROOT)}:{name}"] = blocks
    return examples


@pytest.fixture
def router(monkeypatch):
    """A router of the test's own, mounted as the project's, so that broadcasts from anywhere find its views."""
    router = ChannelRouter()
    monkeypatch.setattr("socketio_views.mounts.mounted_routers", lambda urlconf=None: [("socket.io/", router)])
    return router


def run(block, **names):
    """Run ``block`` with ``names`` defined, as the page's reader has them; return its namespace."""
    namespace = dict(names)
    exec(compile(block, "<Example usage>", "exec"), namespace)
    return namespace


# The runners, one per block: `block` is its code.


def a_room_channel(block, router):
    """The package's and views.py's RoomChannel: registered, it acknowledges and broadcasts a message."""
    names = run(block)
    if "router" not in names:
        router.register("rooms/<slug:room>", names["RoomChannel"])
    else:
        router = names["router"]
    room = ChannelTestClient(router=router, auth={"name": "bob"}).subscribe("rooms/lobby")
    assert {"ok": True} == room.emit("message", {"text": "hi"})
    assert {"text": "hi"} in room.received("message")


def the_api_broadcast(block, router):
    """socketio_views.broadcast() reaches the channel's subscribers."""
    router.register("rooms/<slug:room>", ChannelView)
    lobby = ChannelTestClient(router=router).subscribe("rooms/lobby")
    run(block)
    assert [{"user": "system", "text": "Hello"}] == lobby.received("message")


def the_api_disconnect_user(block, router):
    """disconnect_user(request.user) ends that user's subscriptions with logged_out."""
    router.register("rooms/<slug:room>", ChannelView)
    alice = User.objects.create_user("alice")
    room = ChannelTestClient(router=router, user=alice).subscribe("rooms/lobby")
    run(block, request=SimpleNamespace(user=alice))
    assert room.closed
    assert "logged_out" == room.received("error")[0]["code"]


@pytest.fixture
def events_only():
    """django-socketio's event registry without the handlers of other tests, restored afterwards."""
    from socketio_views.compat.events import EVENTS

    saved = [list(event.handlers) for event in EVENTS]
    for event in EVENTS:
        event.handlers.clear()
    yield
    for event, handlers in zip(EVENTS, saved):
        event.handlers[:] = handlers


def the_compat_events(block, router, events_only):
    """An events.py handler registered so answers on the channels its pattern matches."""
    from socketio_views.compat import register

    run(block)
    register(router)
    one, two = ChannelTestClient(router=router), ChannelTestClient(router=router)
    room = one.subscribe("room-1")
    other = two.subscribe("room-1")
    room.emit("message", "hi")
    assert ["hi"] == room.received("message") == other.received("message")


def the_compat_urls(block):
    """The compat layer's URLconf included at the Socket.IO path."""
    (pattern,) = run(f"urlpatterns = [\n{block}\n]", path=path, include=include)["urlpatterns"]
    assert "socket.io/" == str(pattern.pattern)
    assert "socketio_views.compat.urls" == pattern.urlconf_module.__name__


def the_compat_register(block, router, events_only):
    """compat.register() after a ported view: the view's channels first, events.py's for the rest."""
    from socketio_views import compat
    from socketio_views.compat.views import EventsChannel

    class ChatRoomChannel(ChannelView):
        pass

    names = run(block, ChannelRouter=ChannelRouter, ChatRoomChannel=ChatRoomChannel, compat=compat)
    client = ChannelTestClient(router=names["router"])
    assert isinstance(client.subscribe("room-1").view, ChatRoomChannel)
    assert isinstance(client.subscribe("lobby").view, EventsChannel)


def the_health_check(block):
    """The drain's health check in a URLconf answers 200 while the process serves."""
    from django.test import RequestFactory

    (health, _) = run(block, path=path)["urlpatterns"]
    assert 200 == health.callback(RequestFactory().get("/healthz/")).status_code


def a_channel_with_history(block, router):
    """history and send_history_on_subscribe: a newcomer gets the snapshot, then the last broadcasts."""
    names = run(block, ChannelView=ChannelView, snapshot=lambda room: {"room": room})
    router.register("rooms/<slug:room>", names["RoomChannel"])
    room = f"kept-{uuid.uuid4().hex[:8]}"  # a channel whose policy no other test has looked up
    for n in range(3):
        socketio_views.broadcast(f"rooms/{room}", {"n": n})
    newcomer = ChannelTestClient(router=router).subscribe(f"rooms/{room}")
    assert [{"room": room}] == newcomer.received("snapshot")
    assert [{"n": 0}, {"n": 1}, {"n": 2}] == newcomer.received("message")


def the_hub(block, router):
    """get_hub().emit() sends on a channel, as broadcast() does."""
    router.register("rooms/<slug:room>", ChannelView)
    lobby = ChannelTestClient(router=router).subscribe("rooms/lobby")
    run(block)
    assert [{"text": "hi"}] == lobby.received("message")


def an_outage(block, caplog):
    """Outage: one warning when a call first fails, one when it works again."""
    from socketio_views.outages import Outage

    calls = iter([ConnectionError("down"), ConnectionError("down"), ["alice"]])

    def zrange(*args):
        result = next(calls)
        if isinstance(result, Exception):
            raise result
        return result

    names = run(block, Outage=Outage, redis=SimpleNamespace(zrange=zrange))
    assert [[], [], ["alice"]] == [names["members"]("rooms/lobby") for _ in range(3)]
    warnings = [record.getMessage() for record in caplog.records if record.name == "socketio_views"]
    assert ["Presence unavailable (ConnectionError: down); channels list nobody and count 0 until it is back.",
            "Presence is available again."] == warnings


def a_typed_payload(block, router):
    """An attrs annotation: the handler receives the instance; a payload that breaks the validator is refused."""
    names = run(block, attrs=attrs, ChannelView=ChannelView)
    router.register("rooms/<slug:room>", names["RoomChannel"])
    room = ChannelTestClient(router=router).subscribe("rooms/lobby")
    room.emit("message", {"text": "hi"})
    assert [{"text": "hi"}] == room.received("message")
    assert "invalid" == room.emit("message", {"text": "x" * 501})["error"]["code"]


def the_presence(block, router):
    """get_presence().list() lists the channel's present subscribers."""
    from socketio_views.mixins import PresenceMixin

    class Present(PresenceMixin, ChannelView):
        pass

    router.register("rooms/<slug:room>", Present)
    ChannelTestClient(router=router, auth={"name": "alice"}).subscribe("rooms/lobby")
    names = run(block.replace("get_presence().list(", "listed = get_presence().list("))
    assert 1 == len(names["listed"])


def a_router(block):
    """A router's urls, included at the Socket.IO path: the endpoint, and the channel under its name."""
    names = run(block, ChannelRouter=ChannelRouter, RoomChannel=ChannelView, path=path, include=include)
    [endpoint] = names["urlpatterns"]
    assert ("socket.io/", ["socketio"]) == (str(endpoint.pattern), [pattern.name for pattern in endpoint.url_patterns])
    assert "rooms/lobby" == names["router"].reverse("room", room="lobby")
    assert isinstance(ChannelTestClient(router=names["router"]).subscribe("rooms/lobby").view, ChannelView)


def the_test_client(block):
    """ChannelTestClient against the project's channels: alice's message reaches bob."""
    run(block, alice_user=User.objects.create_user("alice"))


def the_live_server(block):
    """LiveServer: a real runserver_socketio that a python-socketio client connects to."""
    clients = []

    class Client(socketio.Client):
        def __init__(self):
            super().__init__(reconnection=False)
            clients.append(self)

        def connect(self, *args, **kwargs):
            super().connect(*args, **kwargs)
            self.connected_to = list(self.namespaces)

    from socketio_views.testing import LiveServer

    try:
        run(block, LiveServer=LiveServer, socketio=SimpleNamespace(Client=Client))
        assert ["/rooms/lobby"] == clients[0].connected_to
    finally:
        for client in clients:
            client.disconnect()


def a_rate_limiter(block):
    """RateLimiter.get(): the first hit of a key is allowed."""
    from socketio_views.throttling import RateLimiter

    names = run(block, RateLimiter=RateLimiter)
    assert (True, None) == (names["allowed"], names["retry_after"])


def the_worker(block):
    """The gunicorn command: its worker class imports, and gunicorn takes its options."""
    from gunicorn.config import Config
    from gunicorn.util import load_class

    words = block.replace("\\\n", " ").split()
    assert "gunicorn" == words[0]
    config = Config()
    options = dict(zip(words[1:-1:2], words[2:-1:2]))
    for option, value in options.items():
        [name] = [name for name, setting in config.settings.items() if option in (setting.cli or [])]
        config.set(name, value)
    assert load_class(config.worker_class_str).__module__ == "socketio_views.workers"


def the_wsgi_application(block):
    """get_wsgi_application() returns the WSGI callable to serve."""
    assert callable(run(block)["application"])


# The blocks of the contracts, the mixins and the transport package.


@attrs.define
class ChatMessage:
    """A message a client sends."""

    text: str
    id: str = ""


@attrs.define
class ChatPost:
    """A message as everyone receives it."""

    user: str
    text: str


@attrs.define
class Typing:
    """Someone is typing."""

    user: str


def a_contract(block):
    """describe() and asyncapi_document(): the project's channels as an AsyncAPI 3.0 document."""
    names = run(block)
    assert names["channels"]
    assert "3.0.0" == names["document"]["asyncapi"]


def an_asyncapi_document(block):
    """asyncapi_document() with a title and a host."""
    from socketio_views.contracts import describe
    from socketio_views.contracts.asyncapi import asyncapi_document

    document = run(block, asyncapi_document=asyncapi_document, describe=describe)["document"]
    assert ("Chat", "3.0.0") == (document["info"]["title"], document["asyncapi"])


def json_schemas(block):
    """Schemas.of() gives a reference and keeps the definition."""
    from socketio_views.contracts.jsonschema import Schemas

    code = block.replace("schemas.of(ChatMessage)", "reference = schemas.of(ChatMessage)")
    names = run(code.replace("schemas.definitions ", "definitions = schemas.definitions "), Schemas=Schemas,
                ChatMessage=ChatMessage)
    assert {"$ref": "#/components/schemas/ChatMessage"} == names["reference"]
    assert "object" == names["definitions"]["ChatMessage"]["type"]


def typescript_declarations(block):
    """typescript_declarations(): the channels' events as TypeScript."""
    from socketio_views.contracts import describe

    assert "interface" in run(block, describe=describe)["source"]


def a_yaml_dump(block, capsys):
    """dump() writes YAML."""
    run(block)
    assert 'asyncapi: "3.0.0"' in capsys.readouterr().out


def idempotent_events(block, router):
    """IdempotentEventsMixin: a repeat of an event with the same id is answered without running the handler again."""
    from socketio_views.mixins import IdempotentEventsMixin

    ran = []
    code = block.replace("        ...", "        ran.append(message.id)\n        return {'ok': len(ran)}")
    names = run(code, IdempotentEventsMixin=IdempotentEventsMixin, ChannelView=ChannelView, ChatMessage=ChatMessage,
                ran=ran)
    router.register("rooms/<slug:room>", names["RoomChannel"])
    room = ChannelTestClient(router=router).subscribe(f"rooms/{uuid.uuid4().hex[:8]}")
    first = room.emit("message", {"id": "m1", "text": "hi"})
    assert first == room.emit("message", {"id": "m1", "text": "hi"}) == {"ok": 1}
    assert ["m1"] == ran


def the_logout_end_user(block, router):
    """end_user(request.user) ends that user's subscriptions with logged_out."""
    from socketio_views.logout import end_user

    the_api_disconnect_user(block, router)
    assert callable(end_user)


def the_channels_schema_command(block, tmp_path):
    """manage.py channels_schema: JSON on stdout, YAML and TypeScript into files."""
    from io import StringIO

    from django.core.management import call_command

    (tmp_path / "src").mkdir()
    for line in block.splitlines():
        words = line.replace("> asyncapi.json", "").split()
        assert words[:3] == ["python", "manage.py", "channels_schema"], line
        options = [str(tmp_path / word) if word.endswith((".yaml", ".ts")) else word for word in words[3:]]
        out = StringIO()
        call_command("channels_schema", *options, stdout=out)
        if "--output" not in options:
            assert "asyncapi" in json.loads(out.getvalue())
    assert "asyncapi:" in (tmp_path / "asyncapi.yaml").read_text()
    assert "interface" in (tmp_path / "src/channels.ts").read_text()


def event_permissions(block, router):
    """EventPermissionMixin: an event whose permission the user lacks is refused with permission_denied."""
    from socketio_views.mixins import EventPermissionMixin

    deleted = []
    message = SimpleNamespace(objects=SimpleNamespace(filter=lambda pk: SimpleNamespace(delete=lambda: deleted.append(pk))))
    names = run(block, EventPermissionMixin=EventPermissionMixin, ChannelView=ChannelView, Message=message)
    router.register("rooms/<slug:room>", names["RoomChannel"])
    user = User.objects.create_user("alice")
    room = ChannelTestClient(router=router, user=user).subscribe("rooms/lobby")
    assert "permission_denied" == room.emit("delete", {"id": 1})["error"]["code"]
    admin = User.objects.create_superuser("root")
    ChannelTestClient(router=router, user=admin).subscribe("rooms/lobby").emit("delete", {"id": 1})
    assert [1] == deleted


def a_mixin_order(block):
    """The class line is an order the mixins accept: idempotency before the rate limit, both before ChannelView."""
    from socketio_views.mixins import IdempotentEventsMixin, RateLimitMixin

    names = run(block + "\n    idempotent_events = {'message'}\n", IdempotentEventsMixin=IdempotentEventsMixin,
                RateLimitMixin=RateLimitMixin, ChannelView=ChannelView)
    assert issubclass(names["RoomChannel"], ChannelView)


def the_mounts(block, capsys):
    """mounted_routers() finds the routers of ROOT_URLCONF with their prefixes."""
    run(block)
    assert "socket.io/" in capsys.readouterr().out


def declared_emits(block, router):
    """emits: what a view sends is checked against its declaration."""
    code = block.replace("self.name", "'alice'")
    names = run(code, ChannelView=ChannelView, ChatPost=ChatPost, Typing=Typing, ChatMessage=ChatMessage)
    router.register("rooms/<slug:room>", names["RoomChannel"])
    room = ChannelTestClient(router=router).subscribe(f"rooms/{uuid.uuid4().hex[:8]}")
    room.emit("message", {"text": "hi"})
    assert [{"user": "alice", "text": "hi"}] == room.received("message")
    assert [{"user": "alice"}] == room.received("typing")


def an_acknowledgement_asked(block, router):
    """send(..., callback=...): the client's answer reaches the view's callback."""
    answers = []

    names = run(f"class Asking(ChannelView):\n{textwrap.indent(block, '    ')}\n"
                "    def on_answer(self, answer):\n        answers.append(answer)\n",
                ChannelView=ChannelView, answers=answers)
    router.register("rooms/<slug:room>", names["Asking"])
    client = ChannelTestClient(router=router)
    client.answers["ask"] = lambda question: {"ready": True}
    client.subscribe("rooms/lobby")
    assert [{"ready": True}] == answers


def a_connection_record(block):
    """server.connections: one record per open connection, with its identity, subscriptions and pending acks."""
    from socketio_views.transport.connections import Connection

    connection = Connection("abc", {"QUERY_STRING": "EIO=4&transport=websocket", "REMOTE_ADDR": "127.0.0.1"})
    last = block.splitlines()[-1]
    names = run(block.replace(last, f"found = {last}"), server=SimpleNamespace(connections={"abc": connection}),
                connection_id="abc")
    _identity, subscriptions, pending = names["found"]
    assert (0, 0) == (subscriptions, pending)


def a_slow_consumer_policy(block, router):
    """slow_consumer_policy = "drop" on a view."""
    names = run(block, ChannelView=ChannelView)
    assert "drop" == names["TickerChannel"].slow_consumer_policy


def the_endpoint(block):
    """A router's urls hold the endpoint view with the router."""
    from socketio_views.transport.endpoint import endpoint_view

    router = ChannelRouter()
    pattern = run(f"pattern = {block.rstrip(',')}", path=path, endpoint_view=endpoint_view, router=router)["pattern"]
    assert router is pattern.default_args["router"]


def the_library_hooks(block):
    """check_hooks(): no problem with the tested python-socketio and python-engineio."""
    assert [] == run(block.replace("problems = check_hooks()", "problems = check_hooks()"))["problems"]


def a_session_id(block):
    """session_id() reads the sid of a query string."""
    assert "abc" == run(block.replace('session_id("', 'found = session_id("'))["found"]


def an_lru(block):
    """LRU: what was put is found."""
    from socketio_views.state import LRU

    found = run(block, LRU=LRU, policy="p")
    assert (True, "p") == (found["known"], found["policy"])


def a_burst_limiter(block):
    """BurstLimiter: the first line of a key is admitted, the next within the burst is not."""
    from socketio_views.logs import BurstLimiter

    found = run(block, BurstLimiter=BurstLimiter)
    assert ((0, 0), None) == (found["first"], found["again"])


def a_line_per_burst(block, caplog):
    """log_per_burst(): the same line twice about one connection is written once."""
    import logging

    from socketio_views.logs import log_per_burst

    connection_id = uuid.uuid4().hex
    with caplog.at_level(logging.WARNING, logger="socketio_views"):
        run(block + "\n" + block, log_per_burst=log_per_burst, logging=logging, connection_id=connection_id)
    assert [f"Closing connection {connection_id}: malformed packet"] == [r.getMessage() for r in caplog.records]


def a_thread_call(block):
    """run_in_thread() returns what the function returns."""
    assert "X" == run(block, render_thumbnail=str.upper, image="x")["thumbnail"]


def an_offset(block):
    """parse_offset() orders offsets after START."""
    assert run(block.replace('parse_offset("1700000000000-3") >', 'later = parse_offset("1700000000000-3") >'))["later"] is True


def a_manager(block):
    """make_manager(): a write-only Redis manager emits (the test needs Redis)."""
    from .ci import require
    from .test_scaleout import REDIS_URL, redis_reachable

    require(redis_reachable(REDIS_URL), f"Redis is not reachable at {REDIS_URL}")
    names = run(block)
    assert names["manager"].write_only


def a_replayed_history(block, router):
    """A view with history: what a dropped client missed is replayed on recovery."""
    names = run(block, ChannelView=ChannelView)
    router.register("rooms/<slug:room>", names["RoomChannel"])
    channel = f"rooms/{uuid.uuid4().hex[:8]}"
    client, other = ChannelTestClient(router=router), ChannelTestClient(router=router)
    client.subscribe(channel)
    client.drop()
    other.subscribe(channel)
    socketio_views.broadcast(channel, {"n": 1})
    (again,) = client.reconnect()
    assert again.recovered, again.view.recovery_failure
    assert [{"n": 1}] == again.received("message")


def a_recovered_subscription(block, router):
    """recovered / recovery_failure: a fresh subscription gets the snapshot, a recovered one does not, a made-up pid is refused."""
    names = run(block, ChannelView=ChannelView)
    router.register("rooms/<slug:room>", names["RoomChannel"])
    channel = f"rooms/{uuid.uuid4().hex[:8]}"
    client = ChannelTestClient(router=router)
    assert [{"recovery_failure": None}] == client.subscribe(channel).received("snapshot")
    client.drop()
    (again,) = client.reconnect()
    assert again.recovered and [{"recovery_failure": None}] == again.received("snapshot")  # the first one only
    client.drop()
    client.dropped[0].pid = "made-up"
    (refused,) = client.reconnect()
    assert not refused.recovered and {"recovery_failure": "unknown_session"} == refused.received("snapshot")[-1]


def the_server(block):
    """get_server(): the process's server, its connections and views."""
    names = run(block.replace("len(server.connections), len(server.views)", "counts = len(server.connections), len(server.views)"))
    assert all(isinstance(count, int) for count in names["counts"])


def a_websocket_packet_test(block):
    """is_engineio_packet() tells Engine.IO packets from other text."""
    code = "\n".join(
        line.split("#")[0].rstrip() + f"  # noqa\nassert ({line.split('#')[0].strip()}) is {line.split('#')[1].strip()}"
        if "#" in line else line
        for line in block.splitlines()
    )
    run(code)


def a_framed_packet(block):
    """The frame the comment shows is the one built."""
    code, expected = block.rsplit("#", 1)
    namespace = run(code)
    assert namespace["framed"](namespace["packet"]).frame == eval(expected.strip())


#: ``"socketio_views/<module>.py:<qualified name>"`` -> the runner of each of its blocks, in order.
RUNNERS = {
    "socketio_views/__init__.py:<module>": [a_room_channel],
    "socketio_views/api.py:broadcast": [the_api_broadcast],
    "socketio_views/api.py:disconnect_user": [the_api_disconnect_user],
    "socketio_views/compat/__init__.py:<module>": [the_compat_events],
    "socketio_views/compat/events.py:<module>": [the_compat_events],
    "socketio_views/compat/urls.py:<module>": [the_compat_urls],
    "socketio_views/compat/views.py:register": [the_compat_register],
    "socketio_views/drain.py:<module>": [the_health_check],
    "socketio_views/history.py:<module>": [a_channel_with_history],
    "socketio_views/hubs.py:<module>": [the_hub],
    "socketio_views/outages.py:<module>": [an_outage],
    "socketio_views/payloads.py:<module>": [a_typed_payload],
    "socketio_views/presence.py:<module>": [the_presence],
    "socketio_views/recovery.py:<module>": [a_recovered_subscription],
    "socketio_views/routers.py:<module>": [a_router],
    "socketio_views/testing/client.py:<module>": [the_test_client],
    "socketio_views/testing/live.py:<module>": [the_live_server],
    "socketio_views/throttling.py:<module>": [a_rate_limiter],
    "socketio_views/views.py:<module>": [a_room_channel],
    "socketio_views/workers.py:<module>": [the_worker],
    "socketio_views/wsgi.py:<module>": [the_wsgi_application],
    "socketio_views/contracts/__init__.py:<module>": [a_contract],
    "socketio_views/contracts/asyncapi.py:<module>": [an_asyncapi_document],
    "socketio_views/contracts/jsonschema.py:<module>": [json_schemas],
    "socketio_views/contracts/typescript.py:<module>": [typescript_declarations],
    "socketio_views/contracts/yaml.py:<module>": [a_yaml_dump],
    "socketio_views/hub.py:<module>": [a_thread_call],
    "socketio_views/state.py:LRU": [an_lru],
    "socketio_views/logs.py:BurstLimiter": [a_burst_limiter],
    "socketio_views/logs.py:log_per_burst": [a_line_per_burst],
    "socketio_views/idempotency.py:<module>": [idempotent_events],
    "socketio_views/offsets.py:<module>": [an_offset],
    "socketio_views/logout.py:<module>": [the_logout_end_user],
    "socketio_views/management/commands/channels_schema.py:<module>": [the_channels_schema_command],
    "socketio_views/mixins.py:EventPermissionMixin": [event_permissions],
    "socketio_views/mixins.py:IdempotentEventsMixin": [a_mixin_order],
    "socketio_views/mounts.py:<module>": [the_mounts],
    "socketio_views/outgoing.py:<module>": [declared_emits],
    "socketio_views/sending.py:<module>": [the_hub],
    "socketio_views/transport/acks.py:<module>": [an_acknowledgement_asked],
    "socketio_views/transport/connections.py:<module>": [a_connection_record],
    "socketio_views/transport/delivery.py:<module>": [a_slow_consumer_policy],
    "socketio_views/transport/endpoint.py:<module>": [the_endpoint],
    "socketio_views/transport/engine.py:<module>": [the_library_hooks],
    "socketio_views/transport/environ.py:<module>": [a_session_id],
    "socketio_views/transport/managers.py:<module>": [a_manager],
    "socketio_views/transport/replay.py:<module>": [a_replayed_history],
    "socketio_views/transport/server.py:<module>": [the_server],
    "socketio_views/transport/websocket.py:<module>": [a_websocket_packet_test],
    "socketio_views/transport/writes.py:<module>": [a_framed_packet],
}


def test_every_example_has_a_runner():
    """Each Example usage block of the package has a runner in RUNNERS, and each runner a block."""
    found = {where: len(blocks) for where, blocks in package_examples().items()}
    assert {where: len(runners) for where, runners in RUNNERS.items()} == found


def test_the_finder_reads_every_way_a_block_is_introduced():
    """``Example usage::`` and ``Example usage, <where>::`` open a block, at the end of a paragraph too; the block ends with the indentation."""
    source = '''
def f():
    """Do it.

    Example usage, in a view::

        f()

    Or as a paragraph's end. Example usage::

        g()
        h()
    Not code.
    """
'''
    assert {"f": ["f()", "g()\nh()"]} == docstring_blocks(source)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "where, index, runner",
    [(where, index, runner) for where, runners in RUNNERS.items() for index, runner in enumerate(runners)],
    ids=[f"{where}[{index}]" for where, runners in RUNNERS.items() for index in range(len(runners))],
)
def test_the_example_runs(where, index, runner, request):
    """The block works as its page shows it (the runner's docstring says what it checks)."""
    block = package_examples()[where][index]
    names = runner.__code__.co_varnames[: runner.__code__.co_argcount]
    runner(block, **{name: request.getfixturevalue(name) for name in names[1:]})
