"""The demo chat over real connections: the wire contract other clients rely on."""
import re
from datetime import datetime, timezone

import pytest
import requests

from .demo import demo_servers
from .wire import WireClient


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory):
    """The demo, with a fresh database, for the module."""
    with demo_servers(tmp_path_factory.mktemp("demo")) as start:
        yield start()


@pytest.fixture
def demo_client(demo_server):
    clients = []

    def make(*channels, **kwargs):
        client = WireClient(demo_server.url)
        clients.append(client)
        return client.connect(*channels, **kwargs) if channels else client

    yield make
    for client in clients:
        if client.sio.connected:
            client.close()


def test_room_contract_message_ack_and_broadcast(demo_client):
    """Emitting message {"text"} is acked; every subscriber, the sender included, gets {"user", "text"}."""
    ann = demo_client("rooms/lobby", auth={"name": "ann"})
    ben = demo_client("rooms/lobby", auth={"name": "ben"})

    ack = ann.call("rooms/lobby", "message", {"text": "hello"})
    assert ack == {"ok": True, "at": ack["at"]}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", ack["at"])  # the server's clock, in UTC
    (received,) = ben.wait_for("rooms/lobby", "message")
    assert received == {"user": "ann", "person": received["person"], "text": "hello", "at": ack["at"]}
    assert re.fullmatch(r"(guest|tab):\S+", received["person"])  # who sent it: pages mark "(you)" by it
    assert ann.wait_for("rooms/lobby", "message") == [received]


def test_any_room_slug_can_be_joined(demo_client):
    """Subscribing to a room that does not exist yet works, as joining an IRC channel does."""
    carol = demo_client("rooms/brand-new-room", auth={"name": "carol"})

    assert carol.call("rooms/brand-new-room", "message", {"text": "first"})["ok"] is True


def test_presence_and_typing(demo_client):
    """Others see presence joins, typing and leaves; the sender does not see its own typing."""
    ann = demo_client("rooms/notices", auth={"name": "ann"})
    ben = demo_client("rooms/notices", auth={"name": "ben"})

    assert ann.wait_for("rooms/notices", "presence_diff")[0]["joins"][0]["user"] == "ben"
    ben.call("rooms/notices", "typing", {})
    assert ben.received("rooms/notices", "typing") == []  # it would have arrived before the ack
    assert ann.wait_for("rooms/notices", "typing") == [{"user": "ben"}]
    ben.close()
    assert ann.wait_for("rooms/notices", "presence_diff", count=2, timeout=10)[1]["leaves"][0]["user"] == "ben"
    assert ann.received("rooms/notices", "typing") == [{"user": "ben"}]


def test_nickname_is_required(demo_client):
    """Without a nickname or a login the subscription is refused with code name_required."""
    error = demo_client().refused("rooms/lobby")

    assert error["data"] == {"message": "Pick a nickname first.", "code": "name_required"}


def test_empty_message_is_refused(demo_client):
    """An empty text is refused with code invalid and nothing is broadcast."""
    ann = demo_client("rooms/empty", auth={"name": "ann"})

    assert ann.call("rooms/empty", "message", {"text": "  "})["error"]["code"] == "invalid"
    assert ann.received("rooms/empty", "message") == []


def test_payloads_of_the_wrong_shape_are_invalid(demo_client):
    """A list, a number or a string where an object is expected is refused with invalid, not server_error."""
    ann = demo_client("rooms/shapes", auth={"name": "ann"})

    codes = [ann.call("rooms/shapes", "message", payload)["error"]["code"] for payload in ([1, 2], 42, "hi")]
    assert codes == ["invalid"] * 3
    assert ann.call("rooms/shapes", "typing", [1])["error"]["code"] == "invalid"


def test_an_anonymous_visitor_cannot_take_a_users_name(demo_client):
    """Subscribing as "alice" without being alice is refused with name_taken."""
    error = demo_client().refused("rooms/lobby", auth={"name": "alice"})

    assert error["data"]["code"] == "name_taken"


def test_pages_and_browser_client_are_served(demo_server):
    """The room page renders and links the official socket.io-client, which is served."""
    page = requests.get(demo_server.url + "/rooms/lobby/", timeout=5)
    assert page.status_code == 200
    assert 'data-channel="rooms/lobby"' in page.text
    assert "/static/socketio_views/socketio_views.js" in page.text
    script = requests.get(demo_server.url + "/static/socketio_views/vendor/socket.io.min.js", timeout=5)
    assert script.status_code == 200 and "Socket.IO v4" in script.text
    assert requests.get(demo_server.url + "/", timeout=5).status_code == 200


def test_the_demos_log_tells_utc(demo_server):
    """The demo's access log gives the time in UTC (TIME_ZONE = "UTC"), not Django's default, America/Chicago."""
    start = demo_server.mark()
    before = datetime.now(timezone.utc).replace(microsecond=0)
    requests.get(demo_server.url + "/rooms/utc-clock/", timeout=5)
    line = demo_server.wait_for_output(r'^\[[^]]+\] "GET /rooms/utc-clock/ HTTP/1\.1" 200', start=start)
    after = datetime.now(timezone.utc)
    logged = datetime.strptime(line[1:21], "%d/%b/%Y %H:%M:%S").replace(tzinfo=timezone.utc)
    assert before <= logged <= after, line


def test_newcomers_see_the_last_messages_and_offsets_come_with_them(demo_client):
    """The demo keeps its rooms' messages: a newcomer receives the last ones, each with a history offset."""
    ann = demo_client("rooms/history", auth={"name": "ann"})
    for n in range(3):
        assert ann.call("rooms/history", "message", {"text": f"m{n}"})["ok"] is True
    ben = demo_client("rooms/history", auth={"name": "ben"})

    assert [m["text"] for m in ben.wait_for("rooms/history", "message", count=3)] == ["m0", "m1", "m2"]
    assert len([o for ch, ev, o in ben.offsets if ev == "message"]) == 3
    ben.call("rooms/history", "typing", {})
    assert [ev for ch, ev, o in ann.offsets] == ["message"] * 3  # typing is not kept
