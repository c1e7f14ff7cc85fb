"""django-socketio's example chat (tests/djsocketio_chat/events.py, its imports changed) on runserver_socketio.

The handlers are django-socketio's; the server is a real ``runserver_socketio``
process with ``socketio_views.compat.urls`` mounted; the clients are the real
python-socketio client, as the migrated chat.js would use socket.io-client:
the room ``room-<id>`` is the namespace ``/room-<id>``, every message is sent
with ``socket.send(data)`` (the ``message`` event), and the root namespace
``/`` receives what is sent to every connection.
"""
import json
import os
import shutil
import subprocess
import threading
from pathlib import Path

import pytest
import requests

from socketio_views.testing import LiveServer
from tests.djsocketio_chat.models import ChatRoom, ChatUser

from .ci import require
from .waiting import wait_until
from .wire import WireClient

pytestmark = pytest.mark.django_db(transaction=True)

NODE_CHAT = Path(__file__).parent / "node" / "djsocketio_chat.js"
NODE_PATH = os.environ.get("NODE_PATH") or str(Path(__file__).parent.parent / "node_modules")


@pytest.fixture(scope="module")
def chat_server(request):
    """runserver_socketio serving the chat (tests/settings_djsocketio.py), on the test database."""
    request.getfixturevalue("django_db_setup")
    with LiveServer(settings_module="tests.settings_djsocketio") as server:
        yield server


@pytest.fixture
def join(chat_server):
    """Connect a real client to the root namespace and a room's channel; disconnected after the test."""
    clients = []

    def join(channel, transport="websocket"):
        client = WireClient(chat_server.url, transport=transport).connect("", channel)
        clients.append(client)
        return client

    yield join
    for client in clients:
        client.close()


def messages(client, channel):
    return client.received(channel, "message")


def test_the_chat_joins_talks_and_leaves(chat_server, join):
    """Two people join a room, see each other join and talk, a taken name is refused, and leaving is announced."""
    room = ChatRoom.objects.create(name="Lobby")
    channel = f"room-{room.id}"
    ann, bob = join(channel), join(channel, transport="polling")

    ann.emit(channel, "message", {"room": room.id, "action": "start", "name": "<i>ann</i>"})
    assert ann.wait_for(channel, "message", 2)[:2] == [
        {"action": "started", "users": []},
        {"action": "join", "name": "ann", "id": ChatUser.objects.get(name="ann").id},
    ]
    ann_id = ChatUser.objects.get(name="ann").id
    assert bob.wait_for(channel, "message") == [{"action": "join", "name": "ann", "id": ann_id}]
    # The session id the handler stored is the connection's id.
    assert ChatUser.objects.get(name="ann").session == ann.sio.eio.sid

    bob.emit(channel, "message", {"room": room.id, "action": "start", "name": "ann"})
    assert bob.wait_for(channel, "message", 2)[1] == {"action": "in-use"}
    bob.emit(channel, "message", {"room": room.id, "action": "start", "name": "bob"})
    bob_id = wait_until(lambda: ChatUser.objects.filter(name="bob").values_list("id", flat=True).first())
    assert bob.wait_for(channel, "message", 4)[2:] == [
        {"action": "started", "users": ["ann"]},
        {"action": "join", "name": "bob", "id": bob_id},
    ]
    assert ann.wait_for(channel, "message", 3)[2] == {"action": "join", "name": "bob", "id": bob_id}

    bob.emit(channel, "message", {"room": room.id, "action": "message", "message": "<b>hello</b>"})
    said = {"room": room.id, "action": "message", "message": "hello", "name": "bob"}
    assert ann.wait_for(channel, "message", 4)[3] == said
    assert bob.wait_for(channel, "message", 5)[4] == said

    ann.close()
    assert bob.wait_for(channel, "message", 6)[5] == {"action": "leave", "name": "ann", "id": ann_id}
    assert list(room.users.values_list("name", flat=True)) == ["bob"]
    assert messages(ann, "") == [] and messages(bob, "") == []


def test_a_message_before_joining_is_ignored(chat_server, join):
    """A chat message from someone who has not started gets no answer and reaches no one (the handler returns)."""
    room = ChatRoom.objects.create(name="Quiet")
    channel = f"room-{room.id}"
    ann, bob = join(channel), join(channel)
    bob.emit(channel, "message", {"room": room.id, "action": "start", "name": "bob"})
    bob.wait_for(channel, "message", 2)
    assert ann.call(channel, "message", {"room": room.id, "action": "message", "message": "psst"}) is None
    bob.emit(channel, "message", {"room": room.id, "action": "message", "message": "anyone?"})
    wait_until(lambda: any(m.get("message") == "anyone?" for m in messages(ann, channel)))
    assert [m["message"] for m in messages(ann, channel) if m["action"] == "message"] == ["anyone?"]


def test_system_messages_reach_a_room_or_everyone(chat_server, join):
    """The staff page's system message goes to one room with broadcast_channel, to every connection with broadcast."""
    lobby, kitchen = ChatRoom.objects.create(name="Lobby"), ChatRoom.objects.create(name="Kitchen")
    ann, bob = join(f"room-{lobby.id}"), join(f"room-{kitchen.id}")

    response = requests.post(chat_server.url + "/system_message/", {"room": lobby.id, "message": "Lobby closes"}, timeout=5)
    assert response.json() == {"sent": True}
    assert ann.wait_for(f"room-{lobby.id}", "message") == [{"action": "system", "message": "Lobby closes"}]

    requests.post(chat_server.url + "/system_message/", {"message": "Server restarts"}, timeout=5)
    for client in (ann, bob):
        assert client.wait_for("", "message") == [{"action": "system", "message": "Server restarts"}]
    assert messages(bob, f"room-{kitchen.id}") == []


def test_send_by_session_id(chat_server, join):
    """send(session_id) reaches the connection a handler stored; an unknown session id raises NoSocket."""
    room = ChatRoom.objects.create(name="Desk")
    channel = f"room-{room.id}"
    ann = join(channel)
    ann.emit(channel, "message", {"room": room.id, "action": "start", "name": "ann"})
    session = wait_until(lambda: ChatUser.objects.filter(name="ann").values_list("session", flat=True).first())

    sent = requests.post(chat_server.url + "/direct_message/", {"session": session, "message": "hi"}, timeout=5)
    assert sent.json() == {"sent": True}
    assert ann.wait_for("", "message") == [{"action": "direct", "message": "hi"}]
    unknown = requests.post(chat_server.url + "/direct_message/", {"session": "nobody", "message": "hi"}, timeout=5)
    assert unknown.json()["sent"] is False
    assert "There is no socket with the session ID 'nobody'" in unknown.json()["error"]


def test_the_browser_side_on_socket_io_client(chat_server, join):
    """The migrated chat.js code (tests/node/djsocketio_chat.js) joins, talks and leaves with socket.io-client 4."""
    require(shutil.which("node"), "node is not installed")
    room = ChatRoom.objects.create(name="Node")
    channel = f"room-{room.id}"
    bob = join(channel)
    bob.emit(channel, "message", {"room": room.id, "action": "start", "name": "bob"})
    bob.wait_for(channel, "message", 2)
    node = subprocess.Popen(
        ["node", str(NODE_CHAT), chat_server.url, str(room.id), "nina", "hi from node"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "NODE_PATH": NODE_PATH},
    )
    printed = []
    reader = threading.Thread(target=lambda: printed.extend(json.loads(line) for line in node.stdout), daemon=True)
    reader.start()
    try:
        nina = wait_until(lambda: ChatUser.objects.filter(name="nina").first(), timeout=15)
        said = {"room": room.id, "action": "message", "message": "hi from node", "name": "nina"}
        assert bob.wait_for(channel, "message", 4)[2:] == [{"action": "join", "name": "nina", "id": nina.id}, said]
        wait_until(lambda: len(printed) >= 3, timeout=10, message=lambda: f"node printed {printed}")
        assert printed == [{"action": "started", "users": ["bob"]}, {"action": "join", "name": "nina", "id": nina.id}, said]
        node.stdin.write("quit\n")
        node.stdin.flush()
        assert node.wait(10) == 0
    finally:
        if node.poll() is None:
            node.kill()
            node.wait(10)
        reader.join(10)
        node.stdin.close()
        node.stdout.close()
    assert bob.wait_for(channel, "message", 5)[4] == {"action": "leave", "name": "nina", "id": nina.id}
