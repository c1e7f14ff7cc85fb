"""runserver_socketio and gunicorn: the two ways the project serves channels."""
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from django.core.management import CommandError, call_command

from socketio_views.testing import LiveServer

from .waiting import wait_until
from .wire import WireClient

pytestmark = pytest.mark.django_db(transaction=True)



@pytest.fixture
def test_db_env(django_db_setup):
    """Environment that points a server started outside LiveServer's boot at the test database."""
    from django.db import connection

    return {"SOCKETIO_VIEWS_TEST_DB": connection.settings_dict["NAME"]}


def test_banner_lists_every_channel_pattern(live_channels_server):
    """The start-up banner names the endpoint, and registered patterns (a path one, a regex one) with their views."""
    log = live_channels_server.log()
    assert "Socket.IO endpoint /socket.io/ serves channels:" in log
    assert "rooms/<slug:room>  ->  tests.testapp.channels.RoomChannel" in log
    assert "^legacy/(?P<code>[A-Z]{3})$  ->  tests.testapp.channels.ConvertersChannel" in log


def test_server_is_patched_without_late_patching_warnings(live_channels_server):
    """gevent patches before Django is imported, so gevent warns about nothing."""
    assert "MonkeyPatchWarning" not in live_channels_server.log()
    assert "DatabaseWrapper objects created in a thread" not in live_channels_server.log()


def test_one_log_line_per_connection_and_subscription(live_channels_server):
    """The server logs each connection, subscription and their ends."""
    client = WireClient(live_channels_server.url).connect("rooms/logged", auth={"name": "x"})
    sid, eio_sid = client.sio.get_sid("/rooms/logged"), client.sio.eio.sid
    client.close()
    live_channels_server.wait_for_output(rf"Connection {re.escape(eio_sid)} from 127\.0\.0\.1 \(websocket\)")
    live_channels_server.wait_for_output(rf"Subscribed {re.escape(sid)} to 'rooms/logged' \(RoomChannel\)")
    live_channels_server.wait_for_output(rf"Unsubscribed {re.escape(sid)} from 'rooms/logged'")
    live_channels_server.wait_for_output(rf"Connection {re.escape(eio_sid)} closed")


def test_serves_the_django_site_on_the_same_port(live_channels_server):
    """Ordinary Django URLs and the Socket.IO endpoint share one server."""
    assert requests.get(live_channels_server.url + "/nowhere/", timeout=5).status_code == 404
    handshake = requests.get(live_channels_server.url + "/socket.io/?EIO=4&transport=polling", timeout=5)
    assert handshake.status_code == 200 and handshake.text.startswith("0{")


def test_tunes_the_process_before_serving(live_channels_server):
    """runserver_socketio freezes its start-up objects, stops recording greenlets' spawning stacks and collects
    garbage less often."""
    from socketio_views.tuning import GC_THRESHOLDS

    tuning = requests.get(live_channels_server.url + "/tuning/", timeout=5).json()
    assert tuning["frozen"] > 10_000, tuning
    assert tuning["track_greenlet_tree"] is False
    assert list(GC_THRESHOLDS) == tuning["gc_threshold"], tuning


@pytest.mark.parametrize("preset", [None, (1000, 5, 5)])
def test_tune_for_serving_leaves_a_projects_own_gc_thresholds_alone(preset):
    """Python's default garbage-collection thresholds are raised; thresholds the project set itself are kept."""
    code = (
        "import gc, json; from socketio_views import tuning; "
        + (f"gc.set_threshold(*{preset!r}); " if preset else "")
        + "tuning.tune_for_serving(); print(json.dumps([gc.get_threshold(), tuning.GC_THRESHOLDS]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True).stdout
    threshold, tuned = json.loads(out)
    assert tuple(preset or tuned) == tuple(threshold)
    assert tuned[0] > 700


@pytest.mark.parametrize("env, tracked", [({}, False), ({"GEVENT_TRACK_GREENLET_TREE": "1"}, True)])
def test_tune_for_serving_leaves_an_explicit_gevent_setting_alone(env, tracked):
    """gevent's own environment variable, when set, decides whether greenlet trees are tracked."""
    code = (
        "import gc, gevent; from socketio_views.tuning import tune_for_serving; tune_for_serving(); "
        "print(gevent.config.track_greenlet_tree, gc.get_freeze_count() > 0)"
    )
    environ = {k: v for k, v in os.environ.items() if k != "GEVENT_TRACK_GREENLET_TREE"}
    out = subprocess.run(
        [sys.executable, "-c", code], env={**environ, **env}, capture_output=True, text=True, timeout=60, check=True
    ).stdout.split()
    assert out == [str(tracked), "True"]


def test_static_files_are_served_like_runserver():
    """With --insecure, static files are served, as runserver does."""
    with LiveServer(args=["--insecure"]) as server:
        response = requests.get(server.url + "/static/socketio_views/vendor/socket.io.min.js", timeout=5)
    assert response.status_code == 200
    assert b"io" in response.content


@pytest.mark.usefixtures("autoreload_turn")
def test_autoreload_restarts_on_code_change(test_db_env, watched):
    """Without --noreload, editing a project module restarts the server, which serves again."""
    with LiveServer(env={**test_db_env, "SOCKETIO_VIEWS_TEST_WATCHED": watched}, reload=True) as server:
        time.sleep(1.5)  # let the reloader take its first snapshot of mtimes
        os.utime(watched)
        wait_until(lambda: server.banners >= 2, timeout=20, interval=0.1, message=server.log)
        assert server.banners == 2, server.log()
        assert "MonkeyPatchWarning" not in server.log()
        client = WireClient(server.url).connect("rooms/reloaded", auth={"name": "x"})
        assert client.call("rooms/reloaded", "message", {"text": "after reload"}) == {"ok": True}
        client.close()


@pytest.mark.usefixtures("autoreload_turn")
def test_autoreload_drains_open_connections_first(test_db_env, watched):
    """Before an autoreload, open connections are closed by the drain (an Engine.IO CLOSE, so clients reconnect), not dropped."""
    with LiveServer(env={**test_db_env, "SOCKETIO_VIEWS_TEST_WATCHED": watched}, reload=True) as server:
        start = server.mark()
        client = WireClient(server.url).connect("history/reload-drain")
        time.sleep(1.5)  # let the reloader take its first snapshot of mtimes
        os.utime(watched)
        wait_until(lambda: server.banners >= 2, timeout=20, interval=0.1, message=server.log)
        # Waited for, not read at once: the output of the old and new server processes is read by one thread.
        drained = server.wait_for_output(r"^Draining: closing \d+ connection", timeout=10, start=start)
        server.wait_for_output(r"closed \(server draining\)$", timeout=10, start=start)
        client.close()
    assert "Draining: closing 1 connection(s) over 0.5 s" == drained


def child_processes(pid):
    """The process ids of ``pid``'s children (Linux's /proc)."""
    try:
        return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except FileNotFoundError:
        return []


@contextlib.contextmanager
def a_client_of_the_autoreloaders_server(test_db_env, channel):
    """Yield ``(server, child)``: a server under the autoreloader, with a client subscribed to ``channel``, and the
    process id of the server proper (the autoreloader's child)."""
    with LiveServer(env=test_db_env, reload=True) as server:
        client = WireClient(server.url).connect(channel)
        try:
            [child] = wait_until(lambda: child_processes(server.process.pid), timeout=10, interval=0.1)
            yield server, child
        finally:
            client.close()


def drained_and_ended(server, child, start):
    """Wait for the drain (after ``start``) to close the client, then for both processes to exit; return the drain's line."""
    drained = server.wait_for_output(r"^Draining: closing \d+ connection", timeout=10, start=start)
    server.wait_for_output(r"closed \(server draining\)$", timeout=10, start=start)
    assert 0 == server.process.wait(15), server.log()
    assert not Path(f"/proc/{child}").exists()
    return drained


@pytest.mark.usefixtures("autoreload_turn")
def test_sigterm_to_the_autoreloaders_server_drains_it_and_ends_both_processes(test_db_env):
    """With the autoreloader, SIGTERM to the server process drains it, and then it exits, and so does the autoreloader."""
    with a_client_of_the_autoreloaders_server(test_db_env, "history/term-child") as (server, child):
        start = server.mark()
        os.kill(child, signal.SIGTERM)
        assert drained_and_ended(server, child, start).startswith("Draining: closing 1 connection(s)")
        assert 1 == server.banners, server.log()


@pytest.mark.usefixtures("autoreload_turn")
def test_sigterm_to_the_autoreloader_drains_its_server_and_ends_both_processes(test_db_env):
    """SIGTERM to the autoreloader's process is passed to the server, which drains and exits; then the autoreloader exits."""
    with a_client_of_the_autoreloaders_server(test_db_env, "history/term-parent") as (server, child):
        start = server.mark()
        server.process.send_signal(signal.SIGTERM)
        assert drained_and_ended(server, child, start).startswith("Draining: closing 1 connection(s)")


def test_call_command_without_patching_explains_what_to_do():
    """Calling the command from unpatched code fails with the fix in the message."""
    with pytest.raises(CommandError, match=r"call socketio_views\.monkey\.patch\(\) first"):
        call_command("runserver_socketio", "--noreload")


def test_gunicorn_gevent_websocket_worker_serves_channels(test_db_env, tmp_path):
    """Production: gunicorn's gevent-websocket worker on the ordinary wsgi.py serves channels."""
    log_path = tmp_path / "gunicorn.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [
                sys.executable, "-m", "gunicorn",
                "--worker-class", "geventwebsocket.gunicorn.workers.GeventWebSocketWorker",
                "--workers", "1", "--bind", "127.0.0.1:0", "--control-socket", str(tmp_path / "ctl"),
                "--config", "python:socketio_views.tuning",
                "tests.wsgi",
            ],
            env={**os.environ, **test_db_env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        listening = wait_until(
            lambda: re.search(r"Listening at: (http://127\.0\.0\.1:\d+)", log_path.read_text()),
            timeout=20,
            interval=0.1,
            message=log_path.read_text,
        )
        url = listening.group(1)
        for transport in ("websocket", "polling"):

            def connected():
                client = WireClient(url, transport=transport)
                try:
                    return client.connect("rooms/gunicorn", auth={"name": "g"})
                except Exception:  # the worker boots after the master listens
                    client.close()
                    return None

            client = wait_until(connected, timeout=10, interval=0.1, message=log_path.read_text)
            assert client.call("rooms/gunicorn", "message", {"text": transport}) == {"ok": True}
            client.close()
        tuning = requests.get(url + "/tuning/", timeout=5).json()
        assert tuning["frozen"] > 10_000 and tuning["track_greenlet_tree"] is False, tuning
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(10)
    assert "MonkeyPatchWarning" not in log_path.read_text()


def test_long_requests_and_messages_are_read_whole_through_the_small_read_buffer(connect):
    """Each connection is read through a 1 KB buffer (socketio_views.handlers): a handshake whose headers are
    several times longer, and 60 KB messages, arrive whole, over both transports."""
    from socketio_views.handlers import LeanWebSocketHandler

    assert LeanWebSocketHandler.read_buffer_size == 1024
    client = connect("rooms/buffer", auth={"name": "b"}, headers={"Cookie": "padding=" + "x" * 4000})
    texts = ["y" * 60_000, "z" * 1500, "é" * 700]
    for text in texts:
        client.emit("rooms/buffer", "echo", {"text": text})
    assert [{"text": text} for text in texts] == client.wait_for("rooms/buffer", "echo", count=3)
