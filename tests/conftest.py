import os

import pytest

from socketio_views.testing import LiveServer

from .wire import WireClient


@pytest.fixture(scope="session")
def live_server_socketio(django_db_setup, django_db_blocker):
    """A real runserver_socketio process on a free port, using the test database."""
    from django.db import connection

    env = {"SOCKETIO_VIEWS_TEST_DB": connection.settings_dict["NAME"]}
    with LiveServer(env=env) as server:
        yield server


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    server = item.funcargs.get("live_server_socketio") if hasattr(item, "funcargs") else None
    if report.failed and server is not None:
        report.sections.append(("live server output", "\n".join(list(server.output)[-60:])))
    return report


@pytest.fixture(params=["websocket", "polling"])
def transport(request):
    return request.param


@pytest.fixture
def connect(live_server_socketio, transport):
    """Open real python-socketio connections to the live server; closed after the test."""
    clients = []

    def connect(*channels, **kwargs):
        client = WireClient(live_server_socketio.url, transport=kwargs.pop("transport", transport))
        clients.append(client)
        if channels:
            client.connect(*channels, **kwargs)
        return client

    yield connect
    for client in clients:
        if client.sio.connected:
            client.close()
