"""
Tools to test channels.

* :class:`ChannelTestClient`: subscribe, emit and assert in memory, in milliseconds.
* :class:`ChannelTestCase`: a ``TestCase`` whose tests start with an empty hub.
* :class:`LiveServer`, :class:`LiveChannelsTestCase` and the ``live_channels_server``
  pytest fixture: a real server process for end-to-end tests.
"""
from ..exceptions import SubscriptionRefused
from .cases import ChannelTestCase, ChannelTestMixin, LiveChannelsTestCase
from .client import ChannelSubscription, ChannelTestClient, InMemoryHub, default_hub, using_test_hub, wire
from .live import LiveServer, LiveServerError

__all__ = [
    "ChannelSubscription",
    "ChannelTestCase",
    "ChannelTestClient",
    "ChannelTestMixin",
    "InMemoryHub",
    "LiveChannelsTestCase",
    "LiveServer",
    "LiveServerError",
    "SubscriptionRefused",
    "default_hub",
    "using_test_hub",
    "wire",
]
