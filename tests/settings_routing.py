"""The test project on Redis with per-channel routing, for tests/test_routing.py.

``SOCKETIO_VIEWS_BACKEND_ROUTING`` chooses ``BACKEND_ROUTING``; a channel's
Redis subscription ends 0.3 s after its last subscriber leaves; the metrics
are read with a token.
"""
import os

from .settings_redis import *  # noqa: F403
from .settings_redis import SOCKETIO_VIEWS

SOCKETIO_VIEWS = {
    **SOCKETIO_VIEWS,
    "BACKEND_ROUTING": os.environ.get("SOCKETIO_VIEWS_BACKEND_ROUTING") or None,
    "BACKEND_OPTIONS": {**SOCKETIO_VIEWS["BACKEND_OPTIONS"], "unsubscribe_delay": 0.3}
    if os.environ.get("SOCKETIO_VIEWS_BACKEND_ROUTING") != "shared"
    else SOCKETIO_VIEWS["BACKEND_OPTIONS"],
    "METRICS_TOKENS": ["routing-token"],
}
