"""
Hypothesis strategies for what no correct client sends: raw Engine.IO and Socket.IO traffic.

Used by tests/test_fuzz.py; reusable by any test that wants hostile input::

    @given(websocket_sessions())
    def run(frames): ...

A websocket frame is ``(opcode, data)`` (``websocket.ABNF`` opcodes, ``data``
a ``str`` or, for invalid UTF-8 and binary frames, ``bytes``); a polling body
is a ``str`` or ``bytes``. The strategies aim at the channels of
tests/testapp/routing.py, with the events whose handlers accept any payload
(a handler that crashes on purpose, such as ``broken/...`` or ``boom``, logs
its traceback by design and is left out).
"""
import base64
import json

from hypothesis import strategies as st
from websocket import ABNF

TEXT, BINARY = ABNF.OPCODE_TEXT, ABNF.OPCODE_BINARY

# Text that a websocket-client can send (UTF-8 cannot encode lone surrogates;
# those reach the server escaped in JSON, see json_texts()).
any_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=20)
slugs = st.from_regex(r"[a-z0-9][a-z0-9-]{0,11}", fullmatch=True)
names = st.one_of(slugs, st.from_regex(r"[A-Za-z0-9 ._~é-]{1,12}", fullmatch=True))

#: channel prefix -> (the kwarg's strategy, events whose handlers take any payload)
CHANNELS = {
    "rooms": (slugs, ["echo", "typing", "whoami", "leave", "kick", "ask"]),
    "presence": (slugs, ["who", "typing"]),
    "signals": (names, ["ping", "live_views"]),
    "reasons": (names, ["ping", "leave", "kick"]),
    "typed": (names, ["message", "raw"]),
    "acks": (names, ["shapes", "attrs"]),
    "history": (names, ["message", "whoami"]),
    "short-history": (names, ["message", "whoami"]),
    "items": (st.integers(0, 10**6).map(str), ["kwargs"]),
    "objects": (st.uuids().map(str), ["kwargs"]),
    "files": (st.from_regex(r"[a-z0-9]{1,6}(/[a-z0-9.]{1,6}){0,3}", fullmatch=True), ["kwargs"]),
    "archive": (st.integers(0, 9999).map("{:04d}".format), ["kwargs"]),
    "legacy": (st.from_regex(r"[A-Z]{3}", fullmatch=True), ["kwargs"]),
    "db": (st.integers(0, 99).map(str), ["count"]),
    "limited": (names, ["message"]),
    "burst": (names, ["message"]),
    "private": (names, []),
    "closed": (names, []),
    "members": (slugs, ["message"]),
    "moderators": (slugs, []),
    "vip": (slugs, []),
    "stacked": (names, ["message"]),
}

#: Events no client may emit, or that no channel handles, and shapes no event name has.
hostile_events = st.one_of(
    st.sampled_from(
        ["connect", "disconnect", "subscribe", "on_message", "_private", "__class__", "__init__", "dispatch",
         "setup", "teardown", "send", "broadcast", "unsubscribe", "nope", "", " ", "message\x00", "é", "🙂"]
    ),
    any_text,
    st.integers(-(2**70), 2**70),
    st.none(),
    st.lists(st.integers(), max_size=2),
    st.just("x" * 5000),
)


@st.composite
def valid_channels(draw, prefix=None):
    """A channel name that tests/testapp/routing.py resolves."""
    prefix = prefix or draw(st.sampled_from(sorted(CHANNELS)))
    return f"{prefix}/{draw(CHANNELS[prefix][0])}"


odd_channels = st.one_of(
    st.sampled_from(
        ["", "/", "rooms", "rooms/", "rooms//a", "rooms/a/b", "nope/x", "broken", "legacy/abc", "archive/123",
         "items/-1", "objects/not-a-uuid", "rooms/a?x=1", "rooms/a,b", "rooms/../signals/x", "rooms/\x00",
         "rooms/%2e%2e", "rooms/ünï", "rooms/🙂", "*", "rooms/a\n"]
    ),
    any_text,
    st.tuples(st.sampled_from(sorted(CHANNELS)), any_text).map("/".join),
    st.sampled_from([300, 5_000, 99_000, 120_000]).map(lambda n: "rooms/" + "a" * n),
)

#: Channels of the router, unknown ones, odd characters and very long names.
channels = st.one_of(valid_channels(), valid_channels(), odd_channels)

# JSON values: nested, big numbers, NaN-like strings, unicode.
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(-(10**40), 10**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["NaN", "Infinity", "-Infinity", "1e999", "null", "undefined", "__proto__", "\x00", "\u2028", "\ufeff"]),
    any_text,
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(any_text, st.sampled_from(["_placeholder", "num", "text", "pid", "offset"])), children, max_size=4),
    ),
    max_leaves=12,
)


def nested(depth, leaf="1", opener="[", closer="]"):
    return opener * depth + leaf + closer * depth


#: JSON text that json.dumps never writes: raw NaN, huge numbers, escaped lone
#: surrogates, deep nesting (past MAX_PAYLOAD_DEPTH and past Python's recursion
#: limit), and text that is no JSON at all.
odd_json_texts = st.one_of(
    st.sampled_from(
        ["NaN", "Infinity", "-Infinity", "1e999", "-0", "1" * 5_000, "0x10", "'a'", "[1,]", "{\"a\"}", "[", "]", "{",
         '"\\ud800"', '"\\udfff\\ud800"', '["\\ud83d"]', '{"\\udc00": 1}', '"\\u0000"', '"a\\u0000b"', '"\\"',
         "[\"a\"]\x00", "\x00", "[1] [2]", "true false", ""]
    ),
    st.sampled_from([31, 32, 33, 100, 1_000, 30_000]).map(nested),
    st.sampled_from([33, 1_000, 30_000]).map(lambda d: nested(d, "1", '{"a":', "}")),
    st.sampled_from([1_000, 30_000]).map(lambda d: "[" * d),
    any_text,
)


def dumps(value, ensure_ascii=True):
    return json.dumps(value, ensure_ascii=ensure_ascii, separators=(",", ":"))


json_texts = st.one_of(
    st.builds(dumps, json_values, st.booleans()),
    st.builds(dumps, json_values, st.booleans()),
    odd_json_texts,
)


@st.composite
def event_arguments(draw, events):
    """The JSON text of an EVENT packet's data: ``[event, payload...]`` mostly, anything sometimes."""
    event = draw(st.one_of(st.sampled_from(events), hostile_events) if events else hostile_events)
    shape = draw(st.sampled_from(["one", "one", "one", "none", "many", "text"]))
    if shape == "text":
        return draw(odd_json_texts)
    if shape == "none":
        return dumps([event])
    if event == "ask" and draw(st.booleans()):
        payloads = [{"q": draw(json_values)}]
    elif events and event == "message" and draw(st.booleans()):
        payloads = [{"text": draw(any_text), "priority": draw(json_scalars)}]
    else:
        payloads = draw(st.lists(json_values, min_size=1, max_size=3 if shape == "many" else 1))
    text = dumps([event, *payloads], draw(st.booleans()))
    if draw(st.integers(0, 9)) == 0:
        # The payload spliced with JSON that json.dumps never writes.
        text = text[:-1] + "," + draw(odd_json_texts) + "]"
    return text


#: Socket.IO packet types: CONNECT, DISCONNECT, EVENT, ACK, CONNECT_ERROR, BINARY_EVENT, BINARY_ACK, and invalid ones.
socketio_types = st.one_of(st.sampled_from("0123456"), st.sampled_from("0122345"), st.sampled_from(["7", "9", "x", "-", "/", ""]))
ack_ids = st.one_of(st.integers(0, 5).map(str), st.integers(0, 10**99).map(str), st.just("1" * 101), st.just("-1"))
attachment_counts = st.one_of(st.integers(0, 3).map(str), st.just("1" * 11), st.just("01"), st.just("x"))


@st.composite
def socketio_packets(draw, channel=None, events=()):
    """One Socket.IO packet as text: type, attachment announcement, namespace, ack id, JSON data."""
    kind = draw(socketio_types)
    binary = kind in ("5", "6")
    text = kind
    if binary or draw(st.integers(0, 9)) == 0:
        text += draw(attachment_counts) + "-"
    if channel is not None and draw(st.integers(0, 4)) > 0:
        namespace = "/" + channel
    else:
        namespace = draw(st.one_of(st.none(), channels.map(lambda c: "/" + c), any_text))
    if namespace is not None:
        if draw(st.integers(0, 9)) == 0:
            namespace += "?" + draw(any_text)
        text += namespace + draw(st.sampled_from([",", ",", ",", ""]))
    if kind in ("2", "3", "5", "6") and draw(st.booleans()):
        text += draw(ack_ids)
    if kind == "0":
        auth = draw(st.one_of(st.none(), st.builds(dict, name=any_text), json_values.map(dumps), odd_json_texts))
        if isinstance(auth, dict):
            auth = dumps(auth)
        text += auth or ""
    elif kind in ("2", "5"):
        data = draw(event_arguments(events))
        if binary and draw(st.booleans()):
            data = data[:-1] + ',{"_placeholder":true,"num":' + draw(st.sampled_from(["0", "1", "-1", '"0"', "null", "99"])) + "}]"
        text += data
    elif draw(st.booleans()):
        text += draw(json_texts)
    return text


@st.composite
def subscribe(draw, channel):
    """A CONNECT to ``channel``, with an auth object or none mostly, and sometimes another JSON value."""
    auth = draw(
        st.one_of(
            st.just(""),
            st.builds(lambda n: dumps({"name": n}), any_text),
            st.builds(lambda n: dumps({"name": n}), any_text),
            json_values.map(dumps),
        )
    )
    return f"0/{channel},{auth}"


#: Invalid UTF-8 (overlong encodings, CESU-8 surrogates, stray continuation
#: bytes, bytes past U+10FFFF), NUL, and a valid 4-byte character.
odd_utf8 = st.sampled_from(
    [b"\xc0\xaf", b"\xe0\x80\xaf", b"\xf0\x80\x80\xaf", b"\xed\xa0\x80", b"\xed\xbf\xbf", b"\x80", b"\xff\xfe",
     b"\xf4\x90\x80\x80", b"\xc3", b"\x00", "\U0001f642".encode()]
)


@st.composite
def engineio_packets(draw, channel=None, events=()):
    """One Engine.IO packet as text: a MESSAGE carrying Socket.IO mostly, the other types (0-6) and invalid ones."""
    kind = draw(st.integers(0, 9))
    if kind < 6:
        return "4" + draw(socketio_packets(channel, events))
    if kind == 6:
        return draw(st.sampled_from("0123456")) + draw(st.one_of(st.just(""), st.just("probe"), json_texts))
    if kind == 7:
        return "4" + draw(json_texts)
    return draw(st.one_of(st.sampled_from(["", "7", "9garbage", "x", "b", "bAAA=", "b!!", " 4", "\x004"]), any_text))


@st.composite
def attachments(draw):
    """What follows a binary packet: its attachments (binary frames), fewer, more, or text instead."""
    count = draw(st.integers(0, 3))
    return [(draw(st.sampled_from([BINARY, BINARY, TEXT])), draw(st.binary(max_size=20))) for _ in range(count)]


def _as_text_frame(draw, data):
    if draw(st.integers(0, 14)) == 0:
        # The same frame with invalid UTF-8 spliced in.
        raw = data.encode()
        cut = draw(st.integers(0, len(raw)))
        return TEXT, raw[:cut] + draw(odd_utf8) + raw[cut:]
    return TEXT, data


@st.composite
def websocket_sessions(draw):
    """The frames one raw websocket sends: mostly a subscription to a channel, then packets aimed at it."""
    channel = draw(channels)
    prefix = channel.split("/", 1)[0]
    events = CHANNELS[prefix][1] if prefix in CHANNELS else []
    frames = []
    if draw(st.integers(0, 3)) > 0:
        frames.append((TEXT, "4" + draw(subscribe(channel))))
    for _ in range(draw(st.integers(1, 5))):
        choice = draw(st.integers(0, 19))
        if choice == 0:
            frames.append((BINARY, draw(st.binary(max_size=30))))
        else:
            packet = draw(engineio_packets(channel, events))
            frames.append(_as_text_frame(draw, packet))
            if packet[:2] in ("45", "46"):
                frames.extend(draw(attachments()))
    return frames


@st.composite
def polling_bodies(draw):
    """The body of one long-polling POST: Engine.IO packets separated by \\x1e, as text or (invalid UTF-8) bytes."""
    channel = draw(channels)
    prefix = channel.split("/", 1)[0]
    events = CHANNELS[prefix][1] if prefix in CHANNELS else []
    packets = []
    if draw(st.integers(0, 3)) > 0:
        packets.append("4" + draw(subscribe(channel)))
    for _ in range(draw(st.integers(1, 4))):
        packet = draw(engineio_packets(channel, events))
        packets.append(packet)
        if packet[:2] in ("45", "46"):
            packets.extend("b" + base64.b64encode(data).decode() for _, data in draw(attachments()))
    body = "\x1e".join(packets)
    style = draw(st.integers(0, 19))
    if style == 0:
        return "d=" + draw(st.sampled_from(["", "1", body]))  # JSONP form
    if style == 1:
        return "\x1e".join(["40"] * draw(st.integers(15, 20)))  # around the 16-packet limit
    if style == 2:
        raw = body.encode()
        cut = draw(st.integers(0, len(raw)))
        return raw[:cut] + draw(odd_utf8) + raw[cut:]
    return body


@st.composite
def upgrade_sessions(draw):
    """The frames of a websocket upgrading a polling session: the probe and UPGRADE mostly, anything sometimes, then a session's frames."""
    frames = []
    for expected in ("2probe", "5"):
        choice = draw(st.integers(0, 9))
        if choice < 7:
            frames.append((TEXT, expected))
        elif choice < 9:
            frames.append(_as_text_frame(draw, draw(engineio_packets())))
        else:
            frames.append((BINARY, draw(st.binary(max_size=10))))
    return frames + draw(websocket_sessions())
