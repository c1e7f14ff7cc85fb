"""Django test cases for channels: in-memory (:class:`ChannelTestCase`) and live (:class:`LiveChannelsTestCase`)."""
from django.test import TestCase, TransactionTestCase

from .client import using_test_hub
from .live import LiveServer


class ChannelTestMixin:
    """Run each test inside :func:`~socketio_views.testing.using_test_hub`.

    Each test starts with an empty shared in-memory hub, so tests never see
    each other's clients, and with fresh presence and rate-limit counters.
    During the test, ``socketio_views.broadcast()`` and ``send()`` deliver to
    that hub, so test clients observe what the code under test sends.
    """

    def setUp(self):
        self.enterContext(using_test_hub())
        super().setUp()


class ChannelTestCase(ChannelTestMixin, TestCase):
    """A ``django.test.TestCase`` for tests written with :class:`~socketio_views.testing.ChannelTestClient`."""


class LiveChannelsTestCase(TransactionTestCase):
    """Run a real ``runserver_socketio`` process for the whole class, at ``live_server_url``.

    Connect to it with the real python-socketio client (or a browser). Rows
    a test creates are committed, so the server sees them.
    """

    #: Extra command-line arguments of the server, such as ``["--insecure"]``.
    live_server_args = ()

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.live_server = LiveServer(args=cls.live_server_args).start()
        cls.addClassCleanup(cls.live_server.stop)
        cls.live_server_url = cls.live_server.url
