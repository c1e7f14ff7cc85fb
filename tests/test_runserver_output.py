"""What ``runserver_socketio`` prints, and what ``ps`` shows of it, in a project as ``startproject`` makes it."""
import os
import re
import shlex
import subprocess
import sys
import time

import pytest
import requests

from socketio_views.testing import LiveServer

from .waiting import wait_until
from .wire import WireClient

pytestmark = pytest.mark.django_db(transaction=True)

CHANNELS_MODULE = os.path.join(os.path.dirname(__file__), "testapp", "channels.py")


@pytest.fixture(scope="module")
def debug_server(django_db_setup):
    """runserver_socketio with its autoreloader, DEBUG on and Django's default LOGGING (tests/settings_debug.py)."""
    from django.db import connection

    env = {"SOCKETIO_VIEWS_TEST_DB": connection.settings_dict["NAME"]}
    with LiveServer(settings_module="tests.settings_debug", env=env, reload=True) as server:
        yield server


def process_title(pid):
    """What ``ps`` shows as the command of process ``pid``."""
    return subprocess.run(["ps", "-ww", "-o", "args=", "-p", str(pid)], capture_output=True, text=True, check=True).stdout.strip()


def children(pid):
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return [int(child) for child in out.split()]


def matching(lines, pattern):
    return [line for line in lines if re.search(pattern, line)]


def test_django_lines_are_printed_once(debug_server):
    """With DEBUG on and Django's default LOGGING, a 404's warning and the autoreloader's line print once each."""
    mark = debug_server.mark()
    assert requests.get(debug_server.url + "/nowhere/", timeout=5).status_code == 404
    debug_server.wait_for_output(r"Not Found: /nowhere/", start=mark)
    time.sleep(0.5)  # a second copy would follow at once
    assert len(matching(debug_server.lines_since(mark), r"Not Found: /nowhere/")) == 1, debug_server.log()
    assert len(matching(debug_server.lines_since(mark), r'"GET /nowhere/ HTTP/1\.1" 404 ')) == 1, debug_server.log()

    time.sleep(1.5)  # let the reloader take its first snapshot of mtimes
    mark = debug_server.mark()
    os.utime(CHANNELS_MODULE)
    wait_until(lambda: debug_server.banners >= 2, timeout=20, interval=0.1, message=debug_server.log)
    assert len(matching(debug_server.lines_since(mark), r"channels\.py changed, reloading")) == 1, debug_server.log()


def test_ps_shows_the_command_not_the_bootstrap(debug_server):
    """The autoreloader's process and the server it runs show the command that started them in ps, not the re-exec."""
    command = shlex.join([sys.executable, "-m", "django", "runserver_socketio", "127.0.0.1:0", "--skip-checks"])
    reloader = debug_server.process.pid
    assert process_title(reloader) == command
    [server] = wait_until(lambda: children(reloader), timeout=10, message="the autoreloader runs no server")
    title = process_title(server)
    assert title.startswith(sys.executable + " ") and title.endswith(" -m django runserver_socketio 127.0.0.1:0 --skip-checks"), title
    assert "runpy" not in title and "monkey" not in title, title


#: runserver's access line: ``[30/Nov/2026 17:55:01] "GET /path HTTP/1.1" 200 1234``.
ACCESS_LINE = r'^\[\d{2}/[A-Z][a-z]{2}/\d{4} \d{2}:\d{2}:\d{2}\] "%s HTTP/1\.1" %d \d+$'


def access_line(method_and_path, status):
    return ACCESS_LINE % (re.escape(method_and_path), status)


def test_one_access_line_per_request_as_runserver_prints_it(live_channels_server):
    """Each HTTP request (a page, a 404, the Socket.IO endpoint, a WebSocket once it closes) prints one line in runserver's format."""
    server = live_channels_server
    mark = server.mark()
    page = requests.get(server.url + "/tuning/", timeout=5)
    assert page.status_code == 200
    assert requests.get(server.url + "/nowhere/?a=1", timeout=5).status_code == 404
    handshake = requests.get(server.url + "/socket.io/?EIO=4&transport=polling", timeout=5)
    assert handshake.status_code == 200
    client = WireClient(server.url).connect("rooms/access", auth={"name": "x"})
    eio_sid = client.sio.eio.sid
    client.close()
    websocket = server.wait_for_output(r'"GET /socket\.io/\?transport=websocket&EIO=4\S* HTTP/1\.1" 101 ', start=mark)
    lines = server.lines_since(mark)
    [tuning] = matching(lines, access_line("GET /tuning/", 200))
    assert tuning.endswith(f" 200 {len(page.content)}"), tuning  # the body's size, as runserver logs it
    assert len(matching(lines, access_line("GET /nowhere/?a=1", 404))) == 1, lines
    assert len(matching(lines, access_line("GET /socket.io/?EIO=4&transport=polling", 200))) == 1, lines
    assert len(matching(lines, r'"GET /socket\.io/\?transport=websocket&EIO=4\S* HTTP/1\.1" 101 ')) == 1, lines
    assert re.search(r'^\[[^]]+\] "GET \S+ HTTP/1\.1" 101 0$', websocket), websocket
    # gevent's own format ("127.0.0.1 - - [...]") never appears: no request is logged twice.
    assert not matching(lines, r" - - \["), lines
    assert len(matching(lines, rf"Connection {re.escape(eio_sid)} from 127\.0\.0\.1 \(websocket\)")) == 1, lines


def test_one_line_per_refused_subscription_with_its_code(live_channels_server):
    """A refused subscription prints one line naming the channel and the error code."""
    server = live_channels_server
    mark = server.mark()
    client = WireClient(server.url)
    with pytest.raises(Exception):
        client.connect("private/vault", auth={"token": "wrong"})
    client.close()
    line = server.wait_for_output(r"Subscription to 'private/vault' refused", start=mark)
    assert line.endswith("refused: Wrong token. (permission_denied)"), line
    assert len(matching(server.lines_since(mark), r"Subscription to 'private/vault' refused")) == 1
