"""
pytest fixtures of socketio_views, registered automatically when the package is installed.

* every test runs inside :func:`~socketio_views.testing.using_test_hub`: it
  starts with an empty in-memory hub for :class:`~socketio_views.testing.ChannelTestClient`,
  which also receives what ``socketio_views.broadcast()`` and ``send()``
  send, and with fresh presence and rate-limit counters;
* ``live_channels_server``: a real ``runserver_socketio`` process for the
  session, on the test databases (requires pytest-django; mark the tests
  that use it ``@pytest.mark.django_db(transaction=True)``).
"""
import pytest

from .client import using_test_hub
from .live import LiveServer


@pytest.fixture(autouse=True)
def _socketio_views_empty_hub():
    with using_test_hub():
        yield


@pytest.fixture(scope="session")
def live_channels_server(request):
    """A :class:`~socketio_views.testing.LiveServer` on the test databases, for the session."""
    request.getfixturevalue("django_db_setup")
    server = LiveServer().start()
    yield server
    server.stop()
