"""
A real ``runserver_socketio`` process on a free loopback port, for end-to-end tests.

Example usage::

    with LiveServer() as server:
        client = socketio.Client()
        client.connect(server.url, namespaces=["/rooms/lobby"])
"""
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import deque

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

#: Run by ``python -c`` in the child: patch, point the databases at this
#: process's (test) databases, then run the command.
LIVE_BOOT = """\
import json, os, sys, threading, time
from gevent import monkey
monkey.patch_all()
parent = os.getppid()

def watch_parent():
    # A test runner killed without cleaning up must not leave servers behind.
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(0)

threading.Thread(target=watch_parent, daemon=True).start()
import django
django.setup()
from django.conf import settings
for alias, database in json.loads(os.environ["SOCKETIO_VIEWS_LIVE_DATABASES"]).items():
    if settings.DATABASES.get(alias, {}).get("ENGINE") == database["ENGINE"]:
        settings.DATABASES[alias]["NAME"] = database["NAME"]
from django.core.management import call_command
call_command("runserver_socketio", *sys.argv[1:])
"""

BANNER_RE = re.compile(r"Starting gevent server at http://([^/]+)/")


class LiveServerError(RuntimeError):
    """The live server did not start, or exited early."""


def shared_database_names():
    """Return ``{alias: {"ENGINE", "NAME"}}`` of the databases in use, refusing in-memory SQLite.

    The child uses a name only for an alias whose engine is the same in its
    settings, so a server with settings of its own (another project) keeps its databases.
    """
    from django.db import connections

    names = {}
    for alias in connections:
        settings_dict = connections[alias].settings_dict
        name = str(settings_dict["NAME"])
        if connections[alias].vendor == "sqlite" and (name == ":memory:" or "mode=memory" in name):
            raise ImproperlyConfigured(
                f"Database {alias!r} is an in-memory SQLite database, which a live server "
                f"process cannot open. Give it a file: DATABASES[{alias!r}]['TEST'] = "
                f"{{'NAME': 'test_db.sqlite3'}}, or use PostgreSQL."
            )
        names[alias] = {"ENGINE": settings_dict["ENGINE"], "NAME": name}
    return names


class LiveServer:
    """Run ``manage.py runserver_socketio`` in a child process bound to ``127.0.0.1``.

    :param settings_module: settings of the child (default: this process's).
    :param env: extra environment variables for the child.
    :param reload: run with Django's autoreloader (the child then uses the
        databases its settings name, not this process's test databases).
    :param startup_timeout: seconds to wait for the server to listen.
    :param args: extra command-line arguments, such as ``["--insecure"]``.

    Without ``reload`` the child uses the databases this process uses, so a
    test's committed rows (``TransactionTestCase``) are visible to it. They
    must be reachable from another process: not an in-memory SQLite database.
    """

    def __init__(self, settings_module=None, env=None, reload=False, startup_timeout=30, port=0, args=()):
        self.settings_module = settings_module or os.environ.get("DJANGO_SETTINGS_MODULE") or settings.SETTINGS_MODULE
        self.env = env or {}
        self.reload = reload
        self.startup_timeout = startup_timeout
        self.port = port
        self.args = list(args)
        self.process = None
        self.url = None
        #: The server's last 50,000 lines of output (enough for a test session; the banner stays).
        self.output = deque(maxlen=50_000)
        #: How many lines the server has printed in all.
        self.lines = 0
        self._output_lock = threading.Lock()
        self._banner = threading.Event()
        self.banners = 0

    def start(self):
        """Start the child and wait until it listens; return ``self``."""
        command = [f"127.0.0.1:{self.port}", "--skip-checks", *self.args]
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": self.settings_module, "PYTHONUNBUFFERED": "1", **self.env}
        if self.reload:
            args = [sys.executable, "-m", "django", "runserver_socketio", *command]
        else:
            args = [sys.executable, "-c", LIVE_BOOT, *command, "--noreload"]
            env["SOCKETIO_VIEWS_LIVE_DATABASES"] = json.dumps(shared_database_names())
        self.process = subprocess.Popen(
            args,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self._reader = threading.Thread(target=self._read_output, daemon=True)
        self._reader.start()
        if not self._banner.wait(self.startup_timeout):
            self.stop()
            raise LiveServerError("runserver_socketio did not start:\n" + self.log())
        return self

    def _read_output(self):
        for line in self.process.stdout:
            with self._output_lock:
                self.output.append(line.rstrip("\n"))
                self.lines += 1
            match = BANNER_RE.search(line)
            if match:
                self.url = f"http://{match.group(1)}"
                self.banners += 1
                self._banner.set()

    def mark(self):
        """A position in the server's output, for :meth:`lines_since` and :meth:`wait_for_output`."""
        return self.lines

    def lines_since(self, mark):
        """The lines the server printed after :meth:`mark` returned ``mark`` (at most the last 50,000)."""
        with self._output_lock:
            new = self.lines - mark
            return list(self.output)[-new:] if new > 0 else []

    def wait_for_output(self, pattern, timeout=10, start=0):
        """Wait until a line of the server's output after position ``start`` (see :meth:`mark`) matches ``pattern``."""
        deadline = time.monotonic() + timeout
        regex = re.compile(pattern)
        while time.monotonic() < deadline:
            for line in self.lines_since(start):
                if regex.search(line):
                    return line
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise LiveServerError(f"No server output matched {pattern!r}:\n" + self.log())

    def log(self):
        """The server's recent output as one string."""
        return "\n".join(self.output)

    def stop(self, timeout=10):
        """Stop the child (and any autoreloader child) and wait for it."""
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout)
        except ProcessLookupError:
            pass
        self._reader.join(timeout)
        self.process.stdout.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()
