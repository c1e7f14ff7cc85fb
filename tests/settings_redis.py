"""The test project with the Redis backend, for scale-out tests (see tests/test_scaleout.py)."""
import os

from .settings import *  # noqa: F403
from .settings import SOCKETIO_VIEWS

SOCKETIO_VIEWS = {
    **SOCKETIO_VIEWS,
    "BACKEND": os.environ.get("SOCKETIO_VIEWS_BACKEND", os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")),
    "BACKEND_OPTIONS": {"channel": os.environ.get("SOCKETIO_VIEWS_BACKEND_CHANNEL", "socketio_views_tests")},
    "PRESENCE_TTL": 2,
}
