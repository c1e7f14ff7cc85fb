"""The demo project (demo/) served by live servers (with tests/settings_demo.py), for tests/test_demo.py, tests/test_browser.py and tests/test_demo_browser.py."""
import os
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

from socketio_views.testing import LiveServer

from .paths import pythonpath

DEMO_DIR = Path(__file__).resolve().parent.parent / "demo"


@contextmanager
def demo_servers(folder, env=None):
    """Migrate a fresh demo database in ``folder``; yield ``start(port=0)``, which serves the demo on it.

    ``env`` adds environment variables (``SOCKETIO_VIEWS_BACKEND`` for Redis).

    ``start`` returns a started :class:`LiveServer`; pass the port of a stopped
    one to restart the demo where its clients reconnect. Every server
    started is stopped on exit.
    """
    env = {
        # The demo, and the tests' settings (tests/paths.py).
        "PYTHONPATH": pythonpath(DEMO_DIR),
        "DEMO_DATABASE": str(Path(folder) / "db.sqlite3"),
        "DJANGO_SETTINGS_MODULE": "tests.settings_demo",
        **(env or {}),
    }
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=DEMO_DIR,
        env={**os.environ, **env},
        check=True,
    )
    servers = []

    def start(port=0):
        servers.append(LiveServer(settings_module="tests.settings_demo", env=env, port=port).start())
        return servers[-1]

    try:
        yield start
    finally:
        for server in servers:
            server.stop()
