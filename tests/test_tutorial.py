"""docs/tutorial.rst, executed: its commands and files build a project that real clients talk to.

The test reads the page itself: every ``$`` line of its ``console`` blocks is
a command, run in order in a temporary folder (output shown under a command
is compared with what it prints), and every ``literalinclude`` of
``docs/tutorial/`` is written where its caption says. A step removed from the
page, or a file that no longer works, fails the test.
"""
import os
import queue
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from importlib import metadata
from pathlib import Path

import django
import pytest
import socketio

import socketio_views

from .ci import require
from .paths import pythonpath
from .test_browser import CHROMIUM, CHROMIUM_ARGS

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGE = DOCS / "tutorial.rst"
NODE_PATH = os.environ.get("NODE_PATH") or str(ROOT / "node_modules")

#: The commands a tutorial from an empty folder cannot do without, in order.
REQUIRED_STEPS = [
    "python -m venv",
    "pip install socketio-views",
    "django-admin startproject",
    "manage.py startapp",
    "manage.py migrate",
    "manage.py runserver_socketio",
    "pip install \"python-socketio[client]\"",
]
#: Commands that make the virtualenv and install packages: not run here (no
#: network); the test checks that what they name exists (this distribution, an
#: extra whose packages are installed here) and runs everything else with this
#: interpreter, where socketio_views is importable from this checkout.
SETUP_COMMANDS = ("python -m venv ", "source ", "python -m pip install ")
#: The address the page uses for the server; the test's server has its own port.
DOC_URL = "http://127.0.0.1:8000"


def distribution_name():
    """The name setup.py gives the distribution: what ``pip install`` takes."""
    return re.search(r'name="([^"]+)"', (ROOT / "setup.py").read_text()).group(1)


def check_installable(requirement):
    """What a ``pip install`` line names exists here: this distribution, or an extra that adds packages."""
    name, _, extra = requirement.partition("[")
    if not extra:
        assert name == distribution_name(), requirement
        return
    extra = extra.rstrip("]")
    requires = metadata.requires(name) or []
    added = [line for line in requires if re.search(rf"""extra == ["']{re.escape(extra)}["']""", line)]
    assert added, f"{name} has no extra {extra!r}"
    for line in added:
        metadata.version(re.match(r"[\w.-]+", line).group(0))  # installed here, so the test uses it


def parse_blocks(text):
    """The page's directives in order: (directive, argument, options, content lines)."""
    lines = text.splitlines()
    blocks = []
    index = 0
    while index < len(lines):
        match = re.match(r"^\.\. ([\w-]+):: ?(.*)$", lines[index])
        index += 1
        if not match:
            continue
        options, content = {}, []
        while index < len(lines) and re.match(r"^   :([\w-]+):(.*)$", lines[index]):
            name, value = re.match(r"^   :([\w-]+):(.*)$", lines[index]).groups()
            options[name] = value.strip()
            index += 1
        while index < len(lines) and (not lines[index].strip() or lines[index].startswith("    ")):
            content.append(lines[index][4:])
            index += 1
        while content and not content[-1].strip():
            content.pop()
        while content and not content[0].strip():
            content.pop(0)
        blocks.append((match.group(1), match.group(2).strip(), options, content))
    return blocks


def commands(content):
    """A console block's commands, each with the output shown under it."""
    steps = []
    for line in content:
        if line.startswith("$ "):
            steps.append((line[2:], []))
        elif steps:
            steps[-1][1].append(line)
    return steps


class Server:
    """``manage.py runserver_socketio`` as the page starts it, on a free port, its output collected."""

    def __init__(self, argv, cwd, env):
        # In a process group of its own, as a shell runs it: the autoreloader's
        # process and the server it runs are signalled together.
        self.process = subprocess.Popen(
            argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            start_new_session=True,
        )
        self.lines = []
        self._arrivals = queue.Queue()
        self._closed = threading.Event()  # every process of the group has closed its output
        threading.Thread(target=self._read, daemon=True).start()
        match = self.wait_for(r"Starting gevent server at http://127\.0\.0\.1:(\d+)/")
        self.wait_for(r"Quit the server with CONTROL-C\.")
        self.url = f"http://127.0.0.1:{match.group(1)}"

    def _read(self):
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))
            self._arrivals.put(None)
        self._arrivals.put(None)
        self._closed.set()

    def output(self):
        return "\n".join(self.lines)

    def wait_for(self, pattern, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                match = re.search(pattern, line)
                if match:
                    return match
            if self.process.poll() is not None and self._arrivals.empty():
                break
            try:
                self._arrivals.get(timeout=0.2)
            except queue.Empty:
                pass
        raise AssertionError(f"no line matching {pattern!r} in the server's output:\n{self.output()}")

    def interrupt(self, timeout=10):
        """Press Ctrl-C: SIGINT to the process group, as a terminal sends it; return (the lines printed after it, the exit status)."""
        mark = len(self.lines)
        os.killpg(self.process.pid, signal.SIGINT)
        status = self.process.wait(timeout)
        assert self._closed.wait(timeout), "a process of the server outlived Ctrl-C"
        return self.lines[mark:], status

    def stop(self):
        if self.process.stdout.closed:
            return
        self._signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._signal(signal.SIGKILL)
            self.process.wait(timeout=5)
        if not self._closed.wait(5):
            self._signal(signal.SIGKILL)  # the autoreloader's child, had it outlived its parent
        self.process.stdout.close()

    def _signal(self, number):
        try:
            os.killpg(self.process.pid, number)
        except ProcessLookupError:
            pass


class Tutorial:
    """Runs the page's steps in a folder."""

    def __init__(self, folder):
        self.folder = folder
        self.cwd = folder
        self.server = None
        self.executed = []
        self.env = {
            key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"
        }
        # socketio_views as `pip install` would provide it: this checkout, or the wheel that a nox session installed.
        self.env["PYTHONPATH"] = pythonpath()
        self.env["PYTHONUNBUFFERED"] = "1"
        self.env["NODE_PATH"] = NODE_PATH

    def write(self, source, caption):
        """A literalinclude: create or replace the file its caption names, or append to it."""
        path, _, action = caption.partition(" — ")
        target = self.cwd / path
        text = (DOCS / source).read_text()
        if action == "add at the end":
            assert target.exists(), f"{path} should exist before the page adds lines to it"
            target.write_text(target.read_text() + "\n" + text)
        else:
            assert action in ("", "new file", "replace the file"), f"unknown caption action {action!r}"
            assert action != "replace the file" or target.exists(), f"{path} should exist to be replaced"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)

    def run(self, command, expected):
        self.executed.append(command)
        mkdir = re.fullmatch(r"mkdir (\S+) && cd (\S+)", command)
        if mkdir:
            assert mkdir.group(1) == mkdir.group(2)
            self.cwd = self.folder / mkdir.group(1)
            self.cwd.mkdir()
            return
        if command.startswith(SETUP_COMMANDS):
            if "pip install" in command:
                check_installable(shlex.split(command)[-1])
            return
        argv = shlex.split(command.replace(DOC_URL, self.server.url if self.server else DOC_URL))
        if argv[0] == "django-admin":
            argv = [sys.executable, "-m", "django", *argv[1:]]
        elif argv[0] == "python":
            argv = [sys.executable, *argv[1:]]
        elif argv[0] == "node":
            require(shutil.which("node"), "node is not installed")
        else:
            raise AssertionError(f"the test does not know how to run {command!r}")
        if argv[1:3] == ["manage.py", "runserver_socketio"]:
            assert self.server is None
            # With the autoreloader, as the page runs it.
            self.server = Server([*argv, "127.0.0.1:0"], self.cwd, self.env)
            return
        result = subprocess.run(
            argv, cwd=self.cwd, env=self.env, capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 0, f"{command!r} failed:\n{result.stdout}\n{result.stderr}"
        if expected:
            assert result.stdout.strip().splitlines() == expected, command

    def stop(self):
        if self.server:
            self.server.stop()


@pytest.fixture
def tutorial(tmp_path):
    runner = Tutorial(tmp_path)
    yield runner
    runner.stop()


def check_banner(server, shown):
    """The start-up output shown on the page is what the server prints first, line for line, versions and port aside."""
    expected = [
        line.replace("0.1.0", socketio_views.__version__)
        .replace("5.2.19", django.get_version())
        .replace(DOC_URL, server.url)
        for line in shown
    ]
    assert server.lines[: len(expected)] == expected, f"the server printed:\n{server.output()}"


def subscribe_watcher(url):
    """A python-socketio client subscribed to rooms/lobby, collecting what it receives."""
    client = socketio.Client(reconnection=False)
    received = queue.Queue()
    client.on("message", lambda data: received.put(data), namespace="/rooms/lobby")
    client.connect(url, namespaces=["/rooms/lobby"], wait_timeout=10)
    assert received.get(timeout=5) == {"joined": "anonymous"}
    return client, received


def test_tutorial_builds_a_working_chat(tutorial):
    """Run from an empty folder, the page's steps serve a chat that Python, Node and browser clients use."""
    blocks = parse_blocks(PAGE.read_text())
    included = set()
    watcher = None
    messages = None
    for position, (directive, argument, options, content) in enumerate(blocks):
        if directive == "literalinclude":
            assert argument.startswith("tutorial/"), argument
            assert "caption" in options, f"{argument} needs a caption naming its file"
            tutorial.write(argument, options["caption"])
            included.add(argument)
        elif directive == "code-block" and argument == "console":
            for command, expected in commands(content):
                if command.startswith(("python client.py", "node client.js")) and watcher is None:
                    watcher, messages = subscribe_watcher(tutorial.server.url)
                tutorial.run(command, expected)
                if "runserver_socketio" in command:
                    shown = blocks[position + 1]
                    assert shown[:2] == ("code-block", "text"), "the server's output follows its command"
                    check_banner(tutorial.server, shown[3])
    try:
        # Every file under docs/tutorial/ is on the page.
        on_disk = {
            str(path.relative_to(DOCS)) for path in (DOCS / "tutorial").rglob("*") if path.is_file()
        }
        assert on_disk == included
        # Every step of a start from nothing is there, in order.
        positions = []
        for step in REQUIRED_STEPS:
            found = [i for i, command in enumerate(tutorial.executed) if step in command]
            assert found, f"the tutorial lost its step {step!r}"
            positions.append(found[0])
        assert positions == sorted(positions)
        # migrate ran: the server has nothing to complain about.
        output = tutorial.server.output()
        assert "unapplied migration" not in output
        assert "System check identified no issues (0 silenced)." in output
        # What the scripts sent reached the room's other subscribers.
        assert watcher is not None, "the page has no client script"
        texts = set()
        while True:
            try:
                data = messages.get(timeout=1)
            except queue.Empty:
                break
            texts.add(data.get("text"))
        assert {"hello from Python", "hello from Node"} <= texts
        # The page, its scripts and its channel work in a browser.
        check_page_in_browser(tutorial.server)
    finally:
        if watcher is not None:
            watcher.disconnect()


def check_page_in_browser(server):
    """The tutorial's page in Chromium: subscribes, sends, and tells a refusal from a lost server."""
    url = server.url
    require(CHROMIUM, "chromium is not installed (`make test` installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(url + "/")
            log = page.locator("#log")
            log.get_by_text("subscribed", exact=True).wait_for(timeout=10_000)
            page.fill("#text", "hello from the browser")
            page.click("button")
            log.get_by_text("anonymous: hello from the browser", exact=True).wait_for(timeout=10_000)
            # A refused event reaches onError with the server's code ...
            page.evaluate("room.send({}).catch(() => {})")
            log.get_by_text('invalid: Send {"text": "..."}.', exact=True).wait_for(timeout=10_000)
            # The server has logged that refusal too (the page can see it first).
            server.wait_for(r"\(invalid\)$")
            # ... and a server that went away with transport_error, retried.
            # Ctrl-C stops it as it stops runserver: at once, printing nothing, status 0.
            after, status = server.interrupt()
            assert (after, status) == ([], 0), server.output()
            log.get_by_text(re.compile(r"^cannot reach the server \((xhr poll|websocket) error\), retrying$")).first.wait_for(
                timeout=10_000
            )
        finally:
            browser.close()
