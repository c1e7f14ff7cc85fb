"""The scale-out test project with a drain window from the environment (see tests/test_drain.py)."""
import os

from .settings_redis import *  # noqa: F403
from .settings_redis import SOCKETIO_VIEWS

SOCKETIO_VIEWS = {
    **SOCKETIO_VIEWS,
    # python-engineio's own ping timing, not the test project's 2 s / 3 s:
    # with 2,000 clients on a loaded machine a process may stall longer than
    # 3 s while they reconnect, which is a storm of ping timeouts, not a drain.
    "SERVER_OPTIONS": {"ping_interval": 25, "ping_timeout": 20},
    "DRAIN_WINDOW": float(os.environ.get("SOCKETIO_VIEWS_DRAIN_WINDOW", "3")),
    "DRAIN_NOTICE": 1,
}
