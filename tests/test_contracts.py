"""Channels as contracts: the AsyncAPI document, the TypeScript declarations, typed outgoing events, event permissions."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import attrs
import pytest
from django.contrib.auth.models import Permission, User
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.test import override_settings

import socketio_views
from socketio_views import ChannelRouter, ChannelView
from socketio_views.contracts import describe, describe_registration
from socketio_views.contracts.asyncapi import asyncapi_document
from socketio_views.contracts.typescript import typescript_declarations
from socketio_views.contracts.yaml import dump
from socketio_views.hubs import Hub, use_hub
from socketio_views.mixins import EventPermissionMixin
from socketio_views.payloads import OutgoingPayloadError
from socketio_views.routers import Registration
from socketio_views.testing import ChannelTestClient

ROOT = Path(__file__).parent.parent
NODE_MODULES = ROOT / "node_modules"
VALIDATE = Path(__file__).parent / "node" / "validate_asyncapi.js"
TSC = NODE_MODULES / ".bin" / "tsc"
TS_EXAMPLE = ROOT / "docs" / "examples" / "contracts" / "client.ts"

pytestmark = pytest.mark.django_db


def node_env():
    return {**os.environ, "NODE_PATH": os.environ.get("NODE_PATH") or str(NODE_MODULES)}


def validate(path, other=None):
    """What the official AsyncAPI parser says of the document at ``path`` (and whether ``other`` is the same)."""
    result = subprocess.run(
        ["node", str(VALIDATE), str(path), *([str(other)] if other else [])],
        capture_output=True, text=True, env=node_env(), timeout=60, check=True,
    )
    return json.loads(result.stdout)


def problems(report):
    """The parser's errors and warnings (severity 0 and 1); its hints and infos aside."""
    return [d for d in report["diagnostics"] if d["severity"] <= 1]


def demo_command(*args):
    """Run ``manage.py channels_schema`` in demo/, as its README says; return its standard output."""
    result = subprocess.run(
        [sys.executable, "manage.py", "channels_schema", *args],
        cwd=ROOT / "demo", capture_output=True, text=True, timeout=60,
        env={k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"},
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def contract(pattern, view_class, **kwargs):
    return describe_registration(Registration(pattern, view_class, kwargs.get("name"), kwargs.get("regex", False), {}))


def document_of_testapp():
    return asyncapi_document(describe(), title="tests", host="testserver")


# Channels and parameters.


@pytest.mark.parametrize(
    "key, address, parameter, converter, regex",
    [
        ("room", "rooms/{room}", "room", "slug", "[-a-zA-Z0-9_]+"),
        ("items_item_id", "items/{item_id}", "item_id", "int", "[0-9]+"),
        ("objects_key", "objects/{key}", "key", "uuid", "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"),
        ("files_filename", "files/{filename}", "filename", "path", ".+"),
        ("archive", "archive/{year}", "year", "yyyy", "[0-9]{4}"),
        ("private_key", "private/{key}", "key", "str", "[^/]+"),
        ("legacy_code", "legacy/{code}", "code", None, "[A-Z]{3}"),
    ],
)
def test_each_converter_is_a_parameter_with_its_regular_expression(key, address, parameter, converter, regex):
    """Every pattern is a channel whose address is in AsyncAPI form, with a parameter per converter and its regex."""
    channel = document_of_testapp()["channels"][key]
    assert address == channel["address"]
    expected = {"description": f"`{converter}` converter: matches `{regex}`." if converter else f"Matches `{regex}`.", "x-pattern": regex}
    if converter:
        expected["x-converter"] = converter
    assert {parameter: expected} == channel["parameters"]


def test_a_regular_expression_beyond_named_groups_has_no_address():
    """A re_path() pattern with more than literal text and named groups is described by its regex, address null."""
    channel = contract(r"^feeds/(?P<name>\w+)(/all)?$", ChannelView, regex=True)
    assert (None, ()) == (channel.address, channel.parameters)
    assert "Channel names match the regular expression ``^feeds/(?P<name>\\w+)(/all)?$``." in channel.description


# Payloads, acknowledgements and what the server sends.


def test_payload_schema_of_nested_attrs_classes_optional_fields_lists_and_enums():
    """The attrs class of a handler's payload becomes a JSON Schema with its types, required fields and constraints."""
    schemas = document_of_testapp()["components"]["schemas"]
    assert {
        "type": "object",
        "title": "Shape",
        "description": "A shape: its name, points and colour.",
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": 20},
            "points": {"type": "array", "items": {"$ref": "#/components/schemas/Point"}, "maxItems": 10},
            "colour": {"enum": ["red", "blue"], "title": "Colour", "type": "string"},
            "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 5},
            "label": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None},
            "kind": {"enum": ["open", "closed"], "type": "string", "default": "open"},
            "size": {"type": "integer", "minimum": 1, "exclusiveMaximum": 100, "default": 1},
            "code": {"type": "string", "pattern": "^(?:[a-z]+)$", "default": "a"},
            "layer": {"type": "string", "enum": ["top", "bottom"], "default": "top"},
        },
        "required": ["name", "points", "colour"],
        "additionalProperties": False,
    } == schemas["Shape"]
    assert {
        "type": "object",
        "title": "Point",
        "description": "A point of a shape.",
        "properties": {"x": {"type": "integer"}, "y": {"type": "number"}},
        "required": ["x", "y"],
        "additionalProperties": False,
    } == schemas["Point"]


def test_a_handler_without_a_payload_class_takes_free_form_data():
    """A handler whose payload is not annotated with an attrs class accepts any JSON: its schema is empty."""
    messages = document_of_testapp()["components"]["messages"]
    assert {} == messages["ContractsChannel.client.erase"]["payload"]
    assert {"$ref": "#/components/schemas/Shape"} == messages["ContractsChannel.client.draw"]["payload"]


def test_the_return_annotation_is_the_acknowledgement_schema():
    """A handler's return annotation is the reply of its operation, beside the error acknowledgement."""
    document = document_of_testapp()
    draw = document["operations"]["contracts.receive.draw"]
    assert {"channel": {"$ref": "#/channels/contracts"}, "messages": [{"$ref": "#/channels/contracts/messages/ack.draw"}]} == draw["reply"]
    ack = document["components"]["messages"]["ContractsChannel.ack.draw"]["payload"]
    assert {"$ref": "#/components/schemas/Drawn"} == ack["anyOf"][0]
    assert ["error"] == ack["anyOf"][1]["required"]
    assert "reply" not in document["operations"]["contracts.receive.erase"]


def test_emits_become_send_operations():
    """What a view declares in emits, and what PresenceMixin sends, are messages of send operations."""
    document = document_of_testapp()
    messages = document["components"]["messages"]
    assert {"$ref": "#/components/schemas/ShapeAdded"} == messages["ContractsChannel.server.added"]["payload"]
    assert {"type": "object", "additionalProperties": {"type": "integer"}} == messages["ContractsChannel.server.erased"]["payload"]
    assert {} == messages["ContractsChannel.server.note"]["payload"]
    assert "send" == document["operations"]["contracts.send.added"]["action"]
    presence = document["channels"]["presence_room"]["messages"]
    assert {"server.presence_state", "server.presence_diff"} <= set(presence)


def test_event_permissions_and_refusal_codes_are_documented():
    """Each event's permissions, and the codes the view's mixins may refuse with, are in the document."""
    document = document_of_testapp()
    erase = document["components"]["messages"]["ContractsChannel.client.erase"]
    assert ["auth.delete_user"] == erase["x-permissions"]
    assert erase["description"].endswith("Requires the permission `auth.delete_user`: refused with `permission_denied` otherwise.")

    def codes(key, kind):
        return {name.split(".", 1)[1] for name in document["channels"][key]["messages"] if name.startswith(kind + ".")}

    assert "login_required" in codes("members_room", "refusal")
    assert "login_required" not in codes("room", "refusal")
    assert "rate_limited" in codes("limited_name", "error")
    assert "rate_limited" not in codes("room", "error")
    assert {"permission_denied", "unknown_event", "invalid", "server_error"} <= codes("room", "error")
    rate_limited = document["components"]["messages"]["error.rate_limited"]
    assert ("error", "Too many events; slow down.") == (rate_limited["name"], rate_limited["summary"])
    assert {"type": "string", "const": "rate_limited"} == rate_limited["payload"]["properties"]["code"]
    assert "retry_after" in rate_limited["payload"]["properties"]


def test_security_describes_the_session_cookie_and_origins():
    """The server's security is the Django session cookie; its description says which origins may connect."""
    document = document_of_testapp()
    assert {"type": "httpApiKey", "name": "sessionid", "in": "cookie"}.items() <= document["components"]["securitySchemes"]["session"].items()
    server = document["servers"]["default"]
    assert ("testserver", "ws", "/socket.io/") == (server["host"], server["protocol"], server["pathname"])
    assert "from the site's own origin and CSRF_TRUSTED_ORIGINS (https://trusted.example)" in server["description"]


# The official AsyncAPI parser and the TypeScript compiler.


def test_the_command_writes_json_and_yaml_that_the_official_parser_validates(tmp_path):
    """channels_schema's JSON and YAML validate with @asyncapi/parser, without error or warning, and are one document."""
    call_command("channels_schema", output=str(tmp_path / "asyncapi.json"))
    call_command("channels_schema", format="yaml", output=str(tmp_path / "asyncapi.yaml"))

    report = validate(tmp_path / "asyncapi.json", tmp_path / "asyncapi.yaml")

    assert ([], True, True) == (problems(report), report["valid"], report["same"])
    assert "contracts/{name}" in report["channels"]


def test_the_demo_schema_validates_and_lists_the_message_text(tmp_path):
    """On the demo, the document validates with the official parser and lists rooms/{room} with the message's text field."""
    text = demo_command()
    document = json.loads(text)
    room = document["channels"]["room"]
    assert "rooms/{room}" == room["address"]
    message = document["components"]["messages"]["RoomChannel.client.message"]
    schema = document["components"]["schemas"][message["payload"]["$ref"].rsplit("/", 1)[1]]
    assert {"type": "string"} == schema["properties"]["text"]
    assert ["text"] == schema["required"]

    # Its own folder: the quick nox sessions run this test at the same time as the main suite and each other.
    path = tmp_path / "demo-asyncapi.json"
    path.write_text(text)
    report = validate(path)
    assert ([], True) == (problems(report), report["valid"])
    assert "rooms/{room}" in report["channels"]


def tsc(directory, *files):
    return subprocess.run(
        [str(TSC), "--strict", "--noEmit", "--module", "nodenext", "--target", "es2022", *files],
        cwd=directory, capture_output=True, text=True, timeout=120,
    )


@pytest.fixture
def ts_dir(tmp_path):
    """A folder where TypeScript finds socket.io-client's declarations, as in a project that installed it."""
    (tmp_path / "node_modules").symlink_to(NODE_MODULES)
    return tmp_path


def test_the_demo_declarations_compile_with_tsc_strict_and_type_the_docs_example(ts_dir):
    """The demo's TypeScript output compiles with tsc --strict, with the docs' example script that uses it."""
    (ts_dir / "channels.ts").write_text(demo_command("--format", "typescript"))
    shutil.copy(TS_EXAMPLE, ts_dir / "client.ts")

    result = tsc(ts_dir, "channels.ts", "client.ts")

    assert ("", 0) == (result.stdout, result.returncode)


def test_the_declarations_refuse_a_wrong_payload(ts_dir):
    """A misspelt field of a typed payload does not compile: the declarations bite."""
    (ts_dir / "channels.ts").write_text(demo_command("--format", "typescript"))
    (ts_dir / "bad.ts").write_text(
        'import { io } from "socket.io-client";\n'
        'import type { ChannelSocket } from "./channels";\n'
        'const room: ChannelSocket<"rooms/{room}"> = io("/rooms/lobby");\n'
        'room.emit("message", { txt: "hi" }, () => {});\n'
    )
    result = tsc(ts_dir, "channels.ts", "bad.ts")
    assert 0 != result.returncode
    assert "'txt' does not exist in type 'ChatMessage'" in result.stdout


def test_the_testapp_declarations_compile_with_every_payload_shape(ts_dir, tmp_path):
    """Nested classes, optional fields, lists, enums, literals and dicts compile too; each pattern maps to its names."""
    call_command("channels_schema", format="typescript", output=str(ts_dir / "channels.ts"))
    source = (ts_dir / "channels.ts").read_text()
    assert "export interface Shape {\n  name: string;\n  points: Array<Point>;\n  colour: \"red\" | \"blue\";\n" in source
    assert '  draw: (data: Shape, ack: Ack<Drawn>) => void;\n' in source
    assert '  erased: (data: { [key: string]: number }) => void;\n' in source
    assert '    name: `items/${number}`;\n' in source
    (ts_dir / "use.ts").write_text(
        'import type { Channels, ChannelSocket, Shape } from "./channels";\n'
        'declare const socket: ChannelSocket<"contracts/{name}">;\n'
        'const name: Channels["items/{item_id}"]["name"] = "items/42";\n'
        'const shape: Shape = { name: "sq", points: [{ x: 1, y: 2.5 }], colour: "red", kind: "closed", label: null };\n'
        'socket.emit("draw", shape, (reply) => { if (!("error" in reply)) console.log(reply.points, name); });\n'
    )
    result = tsc(ts_dir, "channels.ts", "use.ts")
    assert ("", 0) == (result.stdout, result.returncode)


def test_yaml_output_reads_back_as_the_same_data():
    """Strings that YAML would read as other types, or as line breaks, are quoted and escaped; plain keys are names."""
    data = {
        "a": ["null", "3", "x\u2028y\x85\n", "é", {"b": True, "c": []}, [1, 2.5]],
        "$ref": {},
        "on": None,
        "rooms/{room}": "x",
        "x-pattern": "[0-9]+",
    }
    assert (
        "a:\n"
        '  - "null"\n'
        '  - "3"\n'
        '  - "x\\u2028y\\u0085\\n"\n'
        '  - "é"\n'
        "  - b: true\n"
        "    c: []\n"
        "  - - 1\n"
        "    - 2.5\n"
        "$ref: {}\n"
        '"on": null\n'
        '"rooms/{room}": "x"\n'
        'x-pattern: "[0-9]+"\n'
    ) == dump(data)


# Typed outgoing events.


def test_the_test_client_checks_what_a_view_sends():
    """A declared event sent with a payload that does not fit fails with server_error, and the log names view, event and field."""
    room = ChannelTestClient().subscribe("contracts/a")
    drawn = room.emit("draw", {"name": "sq", "points": [{"x": 1, "y": 2}], "colour": "red"})
    assert {"points": 1, "by": ""} == drawn
    room.assert_received("added", {"shape": {"name": "sq", "points": [{"x": 1, "y": 2.0}], "colour": "red", "tags": [], "label": None, "kind": "open", "size": 1, "code": "a", "layer": "top"}, "by": ""})

    assert "server_error" == room.emit("bad_send")["error"]["code"]
    room.assert_not_received("added", {"shape": {"name": "x"}, "by": 3})


def test_an_outgoing_error_names_the_view_the_event_and_each_field():
    """socketio_views.broadcast() of a declared event checks the payload against the channel's view."""
    ChannelTestClient().subscribe("contracts/a")
    with pytest.raises(OutgoingPayloadError, match=(
        r"^ContractsChannel emits 'added' as ShapeAdded, but the payload does not match: "
        r"shape: This field is required\.; by: expected str, got int \(got \{'by': 3\}\)\.$"
    )) as info:
        socketio_views.broadcast("contracts/a", {"by": 3}, event="added")
    assert (info.value.view.__name__, info.value.event) == ("ContractsChannel", "added")
    with pytest.raises(OutgoingPayloadError, match=r"emits 'erased' as dict\[str, int\]"):
        socketio_views.broadcast("contracts/a", {"count": "one"}, event="erased")
    socketio_views.broadcast("contracts/a", {"count": 2}, event="erased")
    socketio_views.broadcast("contracts/a", ["anything"], event="note")
    socketio_views.broadcast("contracts/a", {"free": "form"}, event="undeclared")


class RecordingHub(Hub):
    """A hub of no test client: whether it checks is the CHECK_EMITS setting's to say."""

    def __init__(self):
        self.sent = []

    def deliver(self, event, data, **kwargs):
        self.sent.append((event, data))


@pytest.mark.parametrize(
    "mode, debug, checked",
    [("debug", True, True), ("debug", False, False), ("always", False, True), ("never", True, False)],
)
def test_the_setting_chooses_when_sends_are_checked(mode, debug, checked):
    """CHECK_EMITS: "debug" (the default) checks while DEBUG is on, "always" always, "never" never."""
    hub = RecordingHub()
    use_hub(hub)
    try:
        with override_settings(DEBUG=debug, SOCKETIO_VIEWS={"CHECK_EMITS": mode}):
            if checked:
                with pytest.raises(OutgoingPayloadError):
                    socketio_views.broadcast("contracts/a", {"by": 3}, event="added")
            else:
                socketio_views.broadcast("contracts/a", {"by": 3}, event="added")
                assert [("added", {"by": 3})] == hub.sent
    finally:
        use_hub(None)


def test_an_unknown_setting_value_says_what_to_use():
    """A CHECK_EMITS that is not one of the three values is ImproperlyConfigured, naming them."""
    use_hub(RecordingHub())
    try:
        with override_settings(SOCKETIO_VIEWS={"CHECK_EMITS": True}):
            with pytest.raises(ImproperlyConfigured, match=r"^SOCKETIO_VIEWS\['CHECK_EMITS'\] is True; use one of 'always', 'debug', 'never'\.$"):
                socketio_views.broadcast("contracts/a", {}, event="added")
    finally:
        use_hub(None)


def test_a_wrong_emits_declaration_is_refused_when_the_class_is_created():
    """emits must map sendable event names to types; the error names the class and the fix."""
    with pytest.raises(ImproperlyConfigured, match=r"^Bad.emits declares 'disconnect', which the server cannot send; use another event name\.$"):
        type("Bad", (ChannelView,), {"emits": {"disconnect": dict}})
    with pytest.raises(ImproperlyConfigured, match=r"^Bad.emits\['message'\] must be a type, such as an attrs class, dict or list\[str\], or None for any JSON \(got 'ChatMessage'\)\.$"):
        type("Bad", (ChannelView,), {"emits": {"message": "ChatMessage"}})
    with pytest.raises(ImproperlyConfigured, match=r"^Bad.emits must be a dict"):
        type("Bad", (ChannelView,), {"emits": ["message"]})


# Event permissions.


def user_with(username, *codenames):
    user = User.objects.create_user(username, password="pw")
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return User.objects.get(pk=user.pk)


def test_event_permissions_refuse_before_the_handler_runs():
    """An event whose permission the user lacks is refused with permission_denied; its handler never runs."""
    room = ChannelTestClient(user=user_with("ann")).subscribe("contracts/a")
    assert {
        "error": {"message": "You do not have permission to send 'erase' on this channel.", "code": "permission_denied", "event": "erase"}
    } == room.emit("erase")
    room.assert_not_received("erased")
    moderator = ChannelTestClient(user=user_with("mo", "delete_user")).subscribe("contracts/a")
    assert {"ok": True} == moderator.emit("erase")
    room.assert_received("erased", {"count": 1})


def test_an_event_permission_for_an_event_the_view_does_not_handle_is_refused():
    """A misspelt event in event_permissions is ImproperlyConfigured when the class is created."""
    with pytest.raises(ImproperlyConfigured, match=(
        r"^Room.event_permissions names 'delet', which Room does not handle \(it handles 'delete'\)\. "
        r"Fix the name, or add on_delet\(\)\.$"
    )):
        type("Room", (EventPermissionMixin, ChannelView), {"event_permissions": {"delet": "a.b"}, "on_delete": lambda self, data: None})


def test_a_handle_no_event_permission_that_returns_still_refuses():
    """Event permission checks cannot fail open."""

    class Lenient(EventPermissionMixin, ChannelView):
        event_permissions = {"delete": "auth.delete_user"}

        def handle_no_event_permission(self, event):
            pass

        def on_delete(self, data):
            return "deleted"

    router = ChannelRouter()
    router.register("lenient", Lenient)
    room = ChannelTestClient(router=router).subscribe("lenient")
    assert "permission_denied" == room.emit("delete")["error"]["code"]


@pytest.mark.django_db(transaction=True)
def test_event_permissions_over_the_wire(connect):
    """Over a real connection: refused with permission_denied (ack and error event), allowed with the permission."""
    from django.test import Client

    anonymous = connect("contracts/wire")
    assert {
        "error": {"message": "You do not have permission to send 'erase' on this channel.", "code": "permission_denied", "event": "erase"}
    } == anonymous.call("contracts/wire", "erase")
    anonymous.wait_for("contracts/wire", "error")

    client = Client()
    client.force_login(user_with("mod", "delete_user"))
    moderator = connect("contracts/wire", headers={"Cookie": f"sessionid={client.cookies['sessionid'].value}"})
    assert {"ok": True} == moderator.call("contracts/wire", "erase")
    assert [{"count": 1}] == anonymous.wait_for("contracts/wire", "erased")
