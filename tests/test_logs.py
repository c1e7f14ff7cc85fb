"""Every record of the package carries connection_id, sid, channel, event and code (socketio_views.logs)."""
import json
import logging
import re
from pathlib import Path

import pytest
import requests
from django.test import RequestFactory

from socketio_views import SubscriptionRefused, logs
from socketio_views.logs import FIELDS, BurstLimiter, ConsoleFormatter, logger
from socketio_views.transport.server import get_server
from socketio_views.testing import ChannelTestClient, LiveServer

from .waiting import wait_until
from .wire import WireClient

PACKAGE = Path(__file__).resolve().parent.parent / "socketio_views"


@pytest.fixture
def records(caplog):
    """The package's records from INFO up, captured."""
    caplog.set_level(logging.INFO, logger="socketio_views")

    def records(pattern):
        return [r for r in caplog.records if r.name == "socketio_views" and re.search(pattern, r.getMessage())]

    return records


def fields(record):
    return {name: getattr(record, name) for name in FIELDS}


def test_a_subscription_and_its_end_carry_their_connection_sid_and_channel(records):
    """The records of a subscription and of its end name the connection, the subscription and the channel."""
    client = ChannelTestClient(auth={"name": "x"})
    room = client.subscribe("rooms/fields")
    room.unsubscribe()
    expected = {"connection_id": client.connection_id, "sid": room.sid, "channel": "rooms/fields", "event": None, "code": None}
    [subscribed] = records(r"^Subscribed .* to 'rooms/fields'")
    [unsubscribed] = records(r"^Unsubscribed .* from 'rooms/fields'")
    assert fields(subscribed) == expected
    assert fields(unsubscribed) == expected


def test_a_refused_subscription_carries_its_code(records):
    """A refused subscription's record carries the refusal's code, the channel and the connection."""
    client = ChannelTestClient()
    with pytest.raises(SubscriptionRefused):
        client.subscribe("private/fields", auth={"token": "wrong"})
    [refused] = records(r"^Subscription to 'private/fields' refused")
    assert refused.levelno == logging.INFO
    assert fields(refused) == {
        "connection_id": client.connection_id,
        "sid": refused.sid,
        "channel": "private/fields",
        "event": None,
        "code": "permission_denied",
    }
    assert refused.sid is not None


def test_a_handler_error_carries_the_event_and_server_error(records):
    """An exception in a handler is logged with its traceback, the event, the subscription and server_error."""
    client = ChannelTestClient(auth={"name": "x"})
    room = client.subscribe("rooms/fields-error")
    assert room.emit("boom", {})["error"]["code"] == "server_error"
    [failed] = records(r"^Event 'boom' on 'rooms/fields-error' failed")
    assert failed.levelno == logging.ERROR and failed.exc_info[0] is RuntimeError
    assert fields(failed) == {
        "connection_id": client.connection_id,
        "sid": room.sid,
        "channel": "rooms/fields-error",
        "event": "boom",
        "code": "server_error",
    }


def test_a_refused_event_carries_the_event_and_its_code(records):
    """A handler's ChannelError is logged with the event and the error's code."""
    client = ChannelTestClient(auth={"name": "x"})
    room = client.subscribe("rooms/fields-refused")
    room.emit("refuse", {})
    [refused] = records(r"^Event 'refuse' on 'rooms/fields-refused' refused")
    assert (refused.event, refused.code, refused.sid) == ("refuse", "room_full", room.sid)


def test_a_connection_opened_and_closed_carries_its_connection_id(records):
    """The records of an Engine.IO connection's opening and closing name it, and nothing else."""
    # python-engineio's own handshake, in this (unpatched) process, where the
    # endpoint view would refuse it (websocket_unsupported).
    environ = RequestFactory().get("/socket.io/", {"EIO": "4", "transport": "polling"}).environ
    started = {}
    body = get_server().handle_request(environ, lambda status, headers, exc_info=None: started.update(status=status))
    assert started["status"].startswith("200"), started
    connection_id = json.loads(b"".join(body).decode()[1:])["sid"]
    get_server().eio.disconnect(connection_id)
    expected = {"connection_id": connection_id, "sid": None, "channel": None, "event": None, "code": None}
    [opened] = records(rf"^Connection {re.escape(connection_id)} from ")
    [closed] = records(rf"^Connection {re.escape(connection_id)} closed")
    assert fields(opened) == expected
    assert fields(closed) == expected


def test_fields_a_call_does_not_name_are_none(caplog):
    """A record of the package's logger has every field, None unless the call names it; extra keys are kept."""
    caplog.set_level(logging.INFO, logger="socketio_views")
    logger.info("hello", channel="c", extra={"other": 1})
    [record] = caplog.records
    assert fields(record) == {"connection_id": None, "sid": None, "channel": "c", "event": None, "code": None}
    assert record.other == 1


@pytest.mark.parametrize("level, expected", [(logging.INFO, "hello"), (logging.WARNING, "WARNING hello")])
def test_console_lines_are_stamped_as_runserver_stamps_its_own(level, expected):
    """runserver_socketio's console format: runserver's [time] stamp, and the level of warnings and errors."""
    record = logging.LogRecord("socketio_views", level, __file__, 1, "hello", None, None)
    line = ConsoleFormatter().format(record)
    assert re.fullmatch(r"\[\d{2}/[A-Z][a-z]{2}/\d{4} \d{2}:\d{2}:\d{2}\] " + expected, line), line


def test_the_package_logs_only_through_its_fields_logger():
    """No module of the package makes a logger of its own or logs through logging's module functions."""
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        source = path.read_text(encoding="utf-8")
        for match in re.finditer(r"logging\.getLogger\(([^)]*)\)|logging\.(debug|info|warning|error|exception|log)\(", source):
            where = path.relative_to(PACKAGE.parent).as_posix()
            allowed = (where, match.group(1)) in {
                ("socketio_views/logs.py", '"socketio_views"'),
                ("socketio_views/access.py", '"django.server"'),
                # The lean path logs a refused request where Django's handler would have.
                ("socketio_views/wsgi.py", '"django.request"'),
            }
            if not allowed:
                offenders.append(f"{where}: {match.group(0)}")
    assert offenders == []


def json_records(server, mark):
    records = []
    for line in server.lines_since(mark):
        if line.startswith("{"):
            records.append(json.loads(line))
    return records


@pytest.mark.django_db(transaction=True)
def test_the_documented_json_logging_writes_the_fields_of_a_real_server(django_db_setup):
    """With docs/examples/json_logging.py's LOGGING, runserver_socketio writes one JSON object per record, fields as keys."""
    with LiveServer(settings_module="tests.settings_json_logging") as server:
        mark = server.mark()
        client = WireClient(server.url).connect("rooms/json", auth={"name": "j"})
        eio_sid, sid = client.sio.eio.sid, client.sio.get_sid("/rooms/json")
        assert client.call("rooms/json", "boom", {})["error"]["code"] == "server_error"
        refused = WireClient(server.url)
        with pytest.raises(Exception):
            refused.connect("private/json", auth={"token": "wrong"})
        refused.close()
        client.close()
        polling = server.url + "/socket.io/?EIO=4&transport=polling"
        polled = json.loads(requests.get(polling, timeout=5).text[1:])["sid"]
        assert requests.post(f"{polling}&sid={polled}", data="1", timeout=5).status_code == 200  # Engine.IO CLOSE
        server.wait_for_output(rf'"message": "Connection {re.escape(eio_sid)} closed', start=mark)
        # A request's line is written once its response has been sent.
        wait_until(lambda: sum(r.get("status_code") == 101 for r in json_records(server, mark)) == 2, message=server.log)
        server.wait_for_output(r'"message": "\\"POST /socket\.io/', start=mark)
        records = json_records(server, mark)

    package = [r for r in records if r["name"] == "socketio_views"]
    assert package and all(set(FIELDS) <= set(r) for r in package), records

    def one(pattern):
        [record] = [r for r in package if re.search(pattern, r["message"])]
        return {name: record[name] for name in FIELDS}

    connection = {"connection_id": eio_sid, "sid": None, "channel": None, "event": None, "code": None}
    assert one(rf"^Connection {re.escape(eio_sid)} from ") == connection
    assert one(rf"^Connection {re.escape(eio_sid)} closed") == connection
    subscription = {"connection_id": eio_sid, "sid": sid, "channel": "rooms/json", "event": None, "code": None}
    assert one(r"^Subscribed .* to 'rooms/json'") == subscription
    assert one(r"^Event 'boom' on 'rooms/json' failed") == {**subscription, "event": "boom", "code": "server_error"}
    refusal = one(r"^Subscription to 'private/json' refused")
    assert (refusal["channel"], refusal["code"], refusal["event"]) == ("private/json", "permission_denied", None)
    assert refusal["connection_id"] not in (None, eio_sid) and refusal["sid"] is not None
    [post] = [r for r in records if r["name"] == "django.server" and r["message"].startswith('"POST ')]
    assert post["connection_id"] == polled and post["status_code"] == 200, post
    websockets = [r for r in records if r["name"] == "django.server" and r.get("status_code") == 101]
    assert len(websockets) == 2, records  # the two clients'
    for websocket in websockets:
        assert re.match(r'^"GET /socket\.io/\?transport=websocket&EIO=4\S* HTTP/1\.1" 101 0$', websocket["message"])
        assert set(FIELDS) <= set(websocket)


def test_long_names_are_cut_in_records(records):
    """A client's 5,000-character channel name reaches the log cut to 200 characters and its length, as argument and field."""
    name = "rooms/" + "n" * 5_000
    logger.info("Subscription to %r refused", name, channel=name)
    [record] = records("Subscription to")
    assert len(record.getMessage()) < 300
    assert record.getMessage().endswith("…[+4806 chars]' refused")
    assert record.channel == name[:200] + "…[+4806 chars]"


def test_a_burst_of_lines_is_written_once_and_counted_in_the_next():
    """Within a burst a key's lines after the first are left out; the first after it says how many, and when since."""
    now = [100.0]
    limiter = BurstLimiter(burst=10, clock=lambda: now[0])
    assert (0, 0) == limiter.admit("a")
    now[0] += 1
    assert [None] * 312 == [limiter.admit("a") for _ in range(312)]
    assert (0, 0) == limiter.admit("b")  # another client, or another kind, is not left out
    now[0] += 13
    assert (312, 14) == limiter.admit("a")
    assert None is limiter.admit("a")


def test_the_limiter_remembers_its_last_keys_only():
    """Past ``size`` keys, the least recently logged is forgotten (its next line is written): memory with a bound."""
    limiter = BurstLimiter(burst=10, size=2, clock=lambda: 0)
    for key in "abc":
        assert (0, 0) == limiter.admit(key)
    assert (None, None) == (limiter.admit("b"), limiter.admit("c"))
    assert (0, 0) == limiter.admit("a")


def test_log_per_burst_writes_the_count_of_lines_left_out(records, monkeypatch):
    """log_per_burst() writes a flood's first line, then, past the burst, one line ending with the count left out."""
    now = [0.0]
    monkeypatch.setattr(logs, "_limiter", BurstLimiter(burst=10, clock=lambda: now[0]))
    for _ in range(313):
        logs.log_per_burst(logging.WARNING, "conn", "Closing connection %s: flooded", "conn", connection_id="conn")
    now[0] += 10
    logs.log_per_burst(logging.WARNING, "conn", "Closing connection %s: flooded", "conn", connection_id="conn")
    assert [r.getMessage() for r in records("flooded")] == [
        "Closing connection conn: flooded",
        "Closing connection conn: flooded (and 312 more like it in the last 10 s)",
    ]
    assert [r.connection_id for r in records("flooded")] == ["conn", "conn"]
