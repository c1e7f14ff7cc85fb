"""
pytest fixtures of socketio_views, registered automatically when the package is installed.

* every test starts with an empty in-memory hub for :class:`~socketio_views.testing.ChannelTestClient`,
  which also receives what ``socketio_views.broadcast()`` and ``send()`` send;
* ``live_channels_server``: a real ``runserver_socketio`` process for the
  session, on the test databases (requires pytest-django; mark the tests
  that use it ``@pytest.mark.django_db(transaction=True)``).
"""
import pytest

from ..api import use_test_hub
from .client import default_hub
from .live import LiveServer


@pytest.fixture(autouse=True)
def _socketio_views_empty_hub():
    default_hub().reset()
    use_test_hub(default_hub())
    yield
    use_test_hub(None)


@pytest.fixture(scope="session")
def live_channels_server(request):
    """A :class:`~socketio_views.testing.LiveServer` on the test databases, for the session."""
    request.getfixturevalue("django_db_setup")
    server = LiveServer().start()
    yield server
    server.stop()
