import pytest

from .wire import WireClient


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
