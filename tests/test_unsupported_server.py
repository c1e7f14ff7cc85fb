"""The socket endpoint served by a server without WebSocket support: Django's own ``runserver``."""
import os
import re
import signal
import subprocess
import sys
import threading
import time

import pytest
import requests
import socketio
import websocket

from .waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)

#: What the refusal's message names: the two servers that serve websockets.
FIXES = ("manage.py runserver_socketio", "socketio_views.workers.GeventWebSocketWorker")


class PlainRunserver:
    """``manage.py runserver --noreload`` of the test project on a free port, its output collected."""

    def __init__(self, env):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "django", "runserver", "--noreload", "127.0.0.1:0"],
            env={**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "PYTHONUNBUFFERED": "1", **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.lines = []
        threading.Thread(target=self._read, daemon=True).start()
        try:
            self.url = wait_until(self._url, timeout=30, interval=0.1, message=self.log).group(1)
        except BaseException:
            self.stop()
            raise

    def _read(self):
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def _url(self):
        return re.search(r"Starting (?:WSGI )?development server at (http://127\.0\.0\.1:\d+)/", self.log())

    def log(self):
        return "\n".join(self.lines)

    def stop(self):
        os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(10)
        self.process.stdout.close()


@pytest.fixture(scope="module")
def plain_runserver(django_db_setup):
    from django.db import connection

    server = PlainRunserver({"SOCKETIO_VIEWS_TEST_DB": connection.settings_dict["NAME"]})
    yield server
    server.stop()


def upgrade_headers():
    return {
        "Connection": "Upgrade",
        "Upgrade": "websocket",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version": "13",
    }


def test_socket_requests_get_a_clear_400_logged_once(plain_runserver):
    """Engine.IO requests to runserver (a WebSocket one, an upgrade, long-polling) are answered 400 websocket_unsupported naming the servers to run; one warning per process."""
    for query in ("EIO=4&transport=websocket", "EIO=4&transport=websocket&sid=nosuchsession", "EIO=4&transport=polling"):
        response = requests.get(f"{plain_runserver.url}/socket.io/?{query}", headers=upgrade_headers(), timeout=5)
        assert response.status_code == 400, response.text
        body = response.json()
        assert body["code"] == "websocket_unsupported"
        assert all(fix in body["message"] for fix in FIXES), body["message"]
    wait_until(lambda: "websocket_unsupported" in plain_runserver.log(), message=plain_runserver.log)
    time.sleep(0.3)
    warnings = [line for line in plain_runserver.lines if "refused (websocket_unsupported)" in line]
    assert len(warnings) == 1, plain_runserver.log()
    assert "not configured appropriately" not in plain_runserver.log()


def test_a_websocket_only_client_gets_a_connect_error_and_does_not_loop(plain_runserver):
    """python-socketio's client, websocket only, fails to connect at once, after one attempt."""
    mark = len(plain_runserver.lines)
    client = socketio.Client()
    started = time.monotonic()
    with pytest.raises(socketio.exceptions.ConnectionError):
        client.connect(plain_runserver.url, namespaces=["/rooms/plain"], transports=["websocket"], wait_timeout=5)
    assert time.monotonic() - started < 5
    time.sleep(1.5)  # a client that looped would try again within a second
    attempts = [line for line in plain_runserver.lines[mark:] if "transport=websocket" in line and '" 400 ' in line]
    assert len(attempts) == 1, plain_runserver.log()
    client.disconnect()


def test_a_raw_websocket_handshake_is_refused_with_400(plain_runserver):
    """A WebSocket client (websocket-client) sees the handshake refused with status 400."""
    ws_url = plain_runserver.url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(ws_url, timeout=5)
    assert refused.value.status_code == 400


def test_a_polling_client_gets_a_connect_error_and_does_not_loop(plain_runserver):
    """python-socketio's client with its default transports (long-polling first) fails to connect at once, after one attempt."""
    mark = len(plain_runserver.lines)
    client = socketio.Client()
    with pytest.raises(socketio.exceptions.ConnectionError, match="400"):
        client.connect(plain_runserver.url, namespaces=["/rooms/plain"], wait_timeout=5)
    time.sleep(1.5)  # a client that looped would try again within a second
    attempts = [line for line in plain_runserver.lines[mark:] if "transport=polling" in line and '" 400 ' in line]
    assert len(attempts) == 1, plain_runserver.log()
    client.disconnect()


def test_a_websocket_request_without_its_upgrade_header_names_the_proxy(live_channels_server):
    """On runserver_socketio, a WebSocket request whose Upgrade header a proxy dropped gets 400 saying so, not 500."""
    response = requests.get(live_channels_server.url + "/socket.io/?EIO=4&transport=websocket", timeout=5)
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "websocket_unsupported"
    assert "without its Upgrade header: a proxy" in response.json()["message"]


def test_gunicorns_plain_gevent_worker_refuses_websockets_and_serves_polling(django_db_setup, tmp_path):
    """gunicorn's gevent worker (no gevent-websocket): the upgrade is refused with 400, the client stays on long-polling and is served."""
    from django.db import connection

    log_path = tmp_path / "gunicorn.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--worker-class", "gevent", "--workers", "1",
             "--bind", "127.0.0.1:0", "--control-socket", str(tmp_path / "ctl"), "tests.wsgi"],
            env={**os.environ, "SOCKETIO_VIEWS_TEST_DB": connection.settings_dict["NAME"]},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        url = wait_until(
            lambda: re.search(r"Listening at: (http://127\.0\.0\.1:\d+)", log_path.read_text()),
            timeout=20, interval=0.1, message=log_path.read_text,
        ).group(1)
        [response] = wait_until(
            lambda: _get(url + "/socket.io/?EIO=4&transport=websocket", upgrade_headers()), timeout=10, interval=0.1
        )
        assert response.status_code == 400 and response.json()["code"] == "websocket_unsupported"
        assert all(fix in response.json()["message"] for fix in FIXES)
        client = socketio.Client(reconnection=False)
        received = []
        client.on("message", received.append, namespace="/rooms/gevent-worker")
        client.connect(url, namespaces=["/rooms/gevent-worker"], auth={"name": "g"}, wait_timeout=5)
        try:
            assert client.transport() == "polling"
            ack = client.call("message", {"text": "polling"}, namespace="/rooms/gevent-worker", timeout=5)
            assert ack == {"ok": True}
            wait_until(lambda: {"user": "g", "text": "polling"} in received, message=lambda: str(received))
        finally:
            client.disconnect()
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(10)
    assert log_path.read_text().count("refused (websocket_unsupported)") == 1, log_path.read_text()


def _get(url, headers):
    """``[response]`` (a 400 response is falsy), or ``None`` while nothing answers."""
    try:
        return [requests.get(url, headers=headers, timeout=5)]
    except requests.ConnectionError:  # the worker boots after the master listens
        return None
