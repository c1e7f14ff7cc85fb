"""Typed payloads: attrs classes built by cattrs, strictly, with per-field errors."""
from unittest import mock

import attrs
import pytest

from socketio_views import ChannelRouter, ChannelView
from socketio_views.payloads import payload_type
from socketio_views.testing import ChannelTestClient

from .testapp.channels import ChatMessage


@pytest.fixture
def room():
    return ChannelTestClient().subscribe("typed/a")


def test_valid_payload_builds_the_attrs_instance_and_attrs_results_are_unstructured(room):
    """The handler gets a ChatMessage; attrs return values and broadcasts reach the client as objects."""
    assert room.emit("message", {"text": "hello", "priority": 2}) == {"text": "HELLO", "length": 2}
    room.assert_received("reply", {"text": "hello", "length": 5})


def test_defaults_apply(room):
    """Fields with defaults may be omitted."""
    assert room.emit("message", {"text": "hi"}) == {"text": "HI", "length": 0}


@pytest.mark.parametrize(
    "payload, fields",
    [
        ({}, {"text": ["This field is required."]}),
        ({"text": 3}, {"text": ["expected str, got int"]}),
        ({"text": "ok", "priority": "3"}, {"priority": ["expected int, got str"]}),
        ({"text": "ok", "priority": True}, {"priority": ["expected int, got boolean"]}),
        ({"text": "x" * 21}, {"text": ["Length of 'text' must be <= 20: 21"]}),
        ({"text": "ok", "admin": True}, {"__all__": ["Unknown field(s): admin."]}),
    ],
)
def test_invalid_payloads_never_reach_the_handler(room, payload, fields):
    """Missing fields, wrong JSON types, validator failures and unknown fields are refused with code invalid."""
    with mock.patch("tests.testapp.channels.TypedChannel.on_message") as handler:
        reply = room.emit("message", payload)
    handler.assert_not_called()
    assert reply == {"error": {"message": "Invalid payload.", "code": "invalid", "fields": fields, "event": "message"}}
    room.assert_received("error", reply["error"])


@pytest.mark.parametrize("payload, kind", [(None, "null"), ("text", "string"), ([1], "array"), (5, "int")])
def test_non_object_payloads_are_refused(room, payload, kind):
    """A payload that is not a JSON object is refused, naming what arrived."""
    reply = room.emit("message", payload) if payload is not None else room.emit("message")
    assert reply["error"]["code"] == "invalid"
    assert reply["error"]["message"] == f"Expected a JSON object for ChatMessage, got {kind}."


def test_untyped_handlers_receive_raw_json(room):
    """Handlers without an attrs annotation keep receiving the decoded JSON."""
    assert room.emit("raw", {"any": ["thing", 1]}) == {"got": {"any": ["thing", 1]}}


def test_payload_type_detection_handles_string_annotations():
    """Postponed (string) annotations resolve; non-attrs annotations mean untyped."""

    def typed(self, message: "ChatMessage", room):
        pass

    def untyped(self, data: dict, room):
        pass

    typed.__globals__["ChatMessage"] = ChatMessage
    assert payload_type(typed) is ChatMessage
    assert payload_type(untyped) is None


def test_too_deep_payloads_are_refused(room):
    """Payloads nested deeper than MAX_PAYLOAD_DEPTH (32) are refused before any handler."""
    deep = current = {}
    for _ in range(40):
        current["x"] = {}
        current = current["x"]
    assert room.emit("raw", deep)["error"] == {
        "message": "The payload nests deeper than 32 levels.",
        "code": "invalid",
        "event": "raw",
    }
    shallow = {"a": [[{"b": 1}]]}
    assert room.emit("raw", shallow) == {"got": shallow}


def test_custom_converter_on_the_view():
    """payload_converter lets a view structure with its own cattrs hooks."""
    import cattrs

    @attrs.define
    class Point:
        x: int
        y: int

    converter = cattrs.Converter()
    converter.register_structure_hook(Point, lambda d, _: Point(*d["xy"]))

    class Points(ChannelView):
        payload_converter = converter

        def on_point(self, point: Point):
            return point.x + point.y

    router = ChannelRouter()
    router.register("points", Points)
    assert ChannelTestClient(router=router).subscribe("points").emit("point", {"xy": [2, 3]}) == 5
