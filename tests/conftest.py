import os
import uuid
from pathlib import Path

import pytest

from .locks import autoreload_lock
from .wire import WireClient

# The Redis pub/sub channel of the servers that tests/settings_redis.py and
# settings_admin.py configure, unless a test names one: this process's own, so
# the processes that run tests at once (pytest-xdist's workers, nox sessions)
# do not receive each other's broadcasts. The servers inherit it.
os.environ.setdefault("SOCKETIO_VIEWS_BACKEND_CHANNEL", f"socketio_views_tests-{uuid.uuid4().hex[:8]}")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, "rep_" + report.when, report)
    server = item.funcargs.get("live_channels_server") if hasattr(item, "funcargs") else None
    if report.failed and server is not None:
        report.sections.append(("live server output", "\n".join(list(server.output)[-60:])))
    return report


@pytest.fixture(params=["websocket", "polling"])
def transport(request):
    return request.param


@pytest.fixture
def connect(live_channels_server, transport):
    """Open real python-socketio connections to the live server; closed after the test."""
    clients = []

    def connect(*channels, **kwargs):
        client = WireClient(live_channels_server.url, transport=kwargs.pop("transport", transport))
        clients.append(client)
        if channels:
            client.connect(*channels, **kwargs)
        return client

    yield connect
    for client in clients:
        client.close()


def watched_module(folder):
    """A module file in ``folder`` that only a server given ``{"SOCKETIO_VIEWS_TEST_WATCHED": path}`` imports (tests/settings.py): touching it restarts that server alone."""
    path = Path(folder) / "watched.py"
    path.write_text('"""Touched by a test to restart its own server."""\n')
    return str(path)


@pytest.fixture
def watched(tmp_path):
    """:func:`watched_module` in the test's temporary folder."""
    return watched_module(tmp_path)


@pytest.fixture
def autoreload_turn():
    """The test's turn at the autoreloader: no other process's test touches a watched module meanwhile (tests/locks.py)."""
    with autoreload_lock():
        yield
