"""What ``runserver_socketio`` prints, and what ``ps`` shows of it, in a project as ``startproject`` makes it."""
import os
import pty
import re
import select
import shlex
import signal
import subprocess
import sys
import threading
import time
import uuid

import pytest
import requests

from socketio_views.testing import LiveServer

from .conftest import watched_module
from .locks import autoreload_lock
from .test_scaleout import redis_url  # noqa: F401 (a fixture)
from .waiting import wait_until
from .wire import WireClient

pytestmark = pytest.mark.django_db(transaction=True)



@pytest.fixture(scope="module")
def debug_server(django_db_setup, tmp_path_factory):
    """runserver_socketio with its autoreloader, DEBUG on and Django's default LOGGING (tests/settings_debug.py).

    ``server.watched`` is a module only it imports: touch it to restart it.
    """
    from django.db import connection

    watched = watched_module(tmp_path_factory.mktemp("watched"))
    env = {"SOCKETIO_VIEWS_TEST_DB": connection.settings_dict["NAME"], "SOCKETIO_VIEWS_TEST_WATCHED": watched}
    with autoreload_lock(), LiveServer(settings_module="tests.settings_debug", env=env, reload=True) as server:
        server.watched = watched
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
    os.utime(debug_server.watched)
    wait_until(lambda: debug_server.banners >= 2, timeout=20, interval=0.1, message=debug_server.log)
    assert len(matching(debug_server.lines_since(mark), r"watched\.py changed, reloading")) == 1, debug_server.log()


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


class Terminal:
    """A command run as a shell runs a foreground job: on a pseudo-terminal, in a process group of its own.

    :meth:`ctrl_c` sends SIGINT to the whole group, as the terminal does when
    Ctrl-C is pressed: the autoreloader's process and the server it runs get it alike.
    """

    def __init__(self, argv, env):
        master, slave = pty.openpty()
        self.process = subprocess.Popen(
            argv, stdin=slave, stdout=slave, stderr=slave, env={**os.environ, **env}, start_new_session=True
        )
        os.close(slave)
        self._master = master
        self._chunks = []
        self._closed = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        while not self._closed.is_set():
            if not select.select([self._master], [], [], 0.1)[0]:
                continue
            try:
                data = os.read(self._master, 65536)
            except OSError:  # EIO: every process holding the terminal has exited
                break
            if not data:
                break
            self._chunks.append(data)
        self._closed.set()

    @property
    def text(self):
        """Everything printed so far, with the terminal's CRLF made LF."""
        return b"".join(self._chunks).decode(errors="replace").replace("\r\n", "\n")

    def wait_for(self, pattern, timeout=30):
        wait_until(lambda: re.search(pattern, self.text, re.MULTILINE) or self.process.poll() is not None,
                   timeout=timeout, message=lambda: f"no {pattern!r} in:\n{self.text}")
        assert re.search(pattern, self.text, re.MULTILINE), self.text

    def settle(self, quiet=0.5, timeout=5):
        """Wait until nothing more is printed for ``quiet`` seconds."""
        deadline = time.monotonic() + timeout
        seen = len(self._chunks)
        while time.monotonic() < deadline:
            time.sleep(quiet)
            if len(self._chunks) == seen:
                return
            seen = len(self._chunks)

    def ctrl_c(self):
        os.killpg(self.process.pid, signal.SIGINT)

    def group_alive(self):
        try:
            os.killpg(self.process.pid, 0)
        except ProcessLookupError:
            return False
        return True

    def close(self):
        if self.group_alive():
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)
        self._closed.wait(5)
        self._closed.set()
        self._reader.join(5)
        os.close(self._master)


def stopped_by_ctrl_c(terminal, timeout=10):
    """Press Ctrl-C on ``terminal``; return (what was printed after it, the exit status, seconds until every process had exited)."""
    terminal.settle()
    mark = len(terminal.text)
    started = time.monotonic()
    terminal.ctrl_c()
    status = terminal.process.wait(timeout)
    wait_until(lambda: not terminal.group_alive(), timeout=timeout, message="a process of the group outlived Ctrl-C")
    seconds = time.monotonic() - started
    wait_until(terminal._closed.is_set, timeout=5, message="the terminal was not closed")
    # A report of the hub monitor (the autoreloader's file scan on a loaded
    # machine) is the machine's, not the stop's.
    after = "".join(line for line in terminal.text[mark:].splitlines(True) if "held the gevent hub" not in line)
    return after, status, seconds


def django_command(*args):
    return [sys.executable, "-m", "django", *args, "127.0.0.1:0", "--skip-checks"]


@pytest.fixture(scope="module")
def debug_env(django_db_setup):
    from django.db import connection

    return {
        "DJANGO_SETTINGS_MODULE": "tests.settings_debug",
        "SOCKETIO_VIEWS_TEST_DB": connection.settings_dict["NAME"],
        "PYTHONUNBUFFERED": "1",
    }


@pytest.mark.usefixtures("autoreload_turn")
def test_ctrl_c_stops_quietly_as_runserver_does(debug_env):
    """Ctrl-C on the terminal stops runserver_socketio and its autoreloader as it stops runserver: nothing printed, the same status, at once."""
    runserver = Terminal(django_command("runserver"), debug_env)
    try:
        runserver.wait_for(r"^Quit the server with CONTROL-C\.$")
        expected_after, expected_status, _ = stopped_by_ctrl_c(runserver)
    finally:
        runserver.close()
    # What runserver does, in this Django version, on this machine.
    assert (expected_after, expected_status) == ("", 0), runserver.text
    assert runserver.text.count("Watching for file changes with StatReloader") == 1, runserver.text

    terminal = Terminal(django_command("runserver_socketio"), debug_env)
    client = None
    try:
        terminal.wait_for(r"^Quit the server with CONTROL-C\.$")
        url = re.search(r"Starting gevent server at (http://\S+)/", terminal.text).group(1)
        # An open WebSocket connection does not hold the server up.
        client = WireClient(url).connect("rooms/ctrl-c", auth={"name": "x"})
        after, status, seconds = stopped_by_ctrl_c(terminal)
    finally:
        if client is not None:
            client.close()
        terminal.close()
    assert (after, status) == (expected_after, expected_status), terminal.text
    assert seconds < 5, seconds
    # The autoreloader's line, printed once, first, as runserver prints it.
    assert terminal.text.count("Watching for file changes with StatReloader") == 1, terminal.text
    assert terminal.text.startswith("Watching for file changes with StatReloader\n"), terminal.text


def test_ctrl_c_without_the_autoreloader_stops_quietly(debug_env):
    """With --noreload, Ctrl-C stops the server at once and quietly too, open connections and all."""
    terminal = Terminal([*django_command("runserver_socketio"), "--noreload"], debug_env)
    client = None
    try:
        terminal.wait_for(r"^Quit the server with CONTROL-C\.$")
        url = re.search(r"Starting gevent server at (http://\S+)/", terminal.text).group(1)
        client = WireClient(url).connect("rooms/ctrl-c", auth={"name": "x"})
        after, status, seconds = stopped_by_ctrl_c(terminal)
    finally:
        if client is not None:
            client.close()
        terminal.close()
    assert (after, status) == ("", 0), terminal.text
    assert seconds < 3, seconds
    assert "Watching for file changes" not in terminal.text


def test_ctrl_c_during_a_drain_stops_at_once(redis_url, debug_env):  # noqa: F811
    """SIGTERM drains (over 30 s here); Ctrl-C meanwhile stops the server at once, quietly."""
    env = {
        **debug_env,
        "DJANGO_SETTINGS_MODULE": "tests.settings_drain",
        "SOCKETIO_VIEWS_DRAIN_WINDOW": "30",
        "SOCKETIO_VIEWS_BACKEND_CHANNEL": f"svt-ctrlc-{uuid.uuid4().hex[:8]}",
    }
    terminal = Terminal([*django_command("runserver_socketio"), "--noreload"], env)
    client = None
    try:
        terminal.wait_for(r"^Quit the server with CONTROL-C\.$")
        url = re.search(r"Starting gevent server at (http://\S+)/", terminal.text).group(1)
        client = WireClient(url).connect("rooms/ctrl-c-drain", auth={"name": "x"})
        terminal.process.send_signal(signal.SIGTERM)
        terminal.wait_for(r"Draining: closing 1 connection\(s\) over 30\.0 s")
        assert terminal.process.poll() is None
        after, status, seconds = stopped_by_ctrl_c(terminal)
    finally:
        if client is not None:
            client.close()
        terminal.close()
    assert (after, status) == ("", 0), terminal.text
    assert seconds < 3, seconds
