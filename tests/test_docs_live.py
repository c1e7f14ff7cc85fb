"""The live-server code docs/testing.rst and docs/wire.rst show, run against real servers.

docs/testing.rst includes these tests (between ``# [marker]`` lines, or by
name); docs/wire.rst includes docs/examples/client.py, run here with the
live server's address in place of the page's.
"""
# [live-room]
import queue

import socketio
from django.contrib.auth.models import User
from django.test import Client

from socketio_views.testing import LiveChannelsTestCase


class LiveRoomTests(LiveChannelsTestCase):
    def test_logged_in_user_chats_under_their_username(self):
        user = User.objects.create_user("eve")  # committed, so the server sees it
        browser = Client()
        browser.force_login(user)
        messages = queue.Queue()

        sio = socketio.Client(reconnection=False)
        sio.on("message", messages.put, namespace="/rooms/lobby")
        sio.connect(
            self.live_server_url,
            namespaces=["/rooms/lobby"],
            headers={"Cookie": f"sessionid={browser.cookies['sessionid'].value}"},
            transports=["websocket"],
        )
        try:
            ack = sio.call(
                "message", {"text": "hi"}, namespace="/rooms/lobby", timeout=5
            )
            self.assertEqual(ack, {"ok": True})
            self.assertEqual(messages.get(timeout=5), {"joined": "eve"})
            self.assertEqual(messages.get(timeout=5), {"user": "eve", "text": "hi"})
        finally:
            sio.disconnect()
# [/live-room]

    def test_a_polling_client_sends_the_cookie_with_every_request(self):
        """With the cookie in its HTTP session's jar, a polling client chats as the logged-in user."""
        import requests

        browser = Client()
        browser.force_login(User.objects.create_user("fay"))
        # [polling-cookie]
        http = requests.Session()
        http.cookies.set("sessionid", browser.cookies["sessionid"].value)
        sio = socketio.Client(reconnection=False, http_session=http)
        # [/polling-cookie]
        sio.connect(self.live_server_url, namespaces=["/rooms/lobby"], transports=["polling"])
        try:
            whoami = sio.call("whoami", None, namespace="/rooms/lobby", timeout=5)
            self.assertEqual((whoami["user"], whoami["authenticated"]), ("fay", True))
        finally:
            sio.disconnect()


# The page shows the next test with the imports it needs.
# [live-fixture]
import pytest
import socketio


@pytest.mark.django_db(transaction=True)
def test_message_is_acknowledged(live_channels_server):
    sio = socketio.Client(reconnection=False)
    sio.connect(
        live_channels_server.url, namespaces=["/rooms/lobby"], auth={"name": "alice"}
    )
    try:
        ack = sio.call("message", {"text": "hi"}, namespace="/rooms/lobby", timeout=5)
        assert ack == {"ok": True}
    finally:
        sio.disconnect()
# [/live-fixture]


def test_a_live_server_of_your_own(monkeypatch):
    """LiveServer as a context manager, with docs/examples/myproject/settings_test.py and an env variable."""
    from pathlib import Path

    from .paths import pythonpath

    root = Path(__file__).resolve().parent.parent
    monkeypatch.setenv("PYTHONPATH", pythonpath(root / "docs" / "examples"))
    # [live-server]
    from socketio_views.testing import LiveServer

    settings_module = "myproject.settings_test"
    with LiveServer(settings_module=settings_module, env={"FEATURE": "on"}) as server:
        client = socketio.Client()
        client.connect(server.url, namespaces=["/rooms/lobby"])
        ...
    # [/live-server]
        subscribed = client.namespaces
        client.disconnect()
    assert "/rooms/lobby" in subscribed


@pytest.mark.django_db(transaction=True)
def test_the_wire_pages_python_client_subscribes(live_channels_server):
    """docs/wire.rst's client, with the live server's address, connects to /rooms/lobby."""
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "docs" / "examples" / "client.py"
    code = path.read_text().split("# [client]\n")[1].split("# [/client]")[0]
    assert "http://127.0.0.1:8000" in code
    names = {}
    exec(compile(code.replace("http://127.0.0.1:8000", live_channels_server.url), str(path), "exec"), names)
    client = names["client"]
    try:
        assert client.connected and "/rooms/lobby" in client.namespaces
    finally:
        client.disconnect()
