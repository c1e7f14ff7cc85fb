"""The scale-out test project with a drain window from the environment (see tests/test_drain.py)."""
import os

from .settings_redis import *  # noqa: F403
from .settings_redis import SOCKETIO_VIEWS

SOCKETIO_VIEWS = {**SOCKETIO_VIEWS, "DRAIN_WINDOW": float(os.environ.get("SOCKETIO_VIEWS_DRAIN_WINDOW", "3")), "DRAIN_NOTICE": 1}
