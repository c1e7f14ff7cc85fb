"""The test project with room for 3 recovery sessions of connections that vanished (see tests/test_bounds.py)."""
from .settings import *  # noqa: F403
from .settings import SOCKETIO_VIEWS

SOCKETIO_VIEWS = {**SOCKETIO_VIEWS, "MAX_RECOVERY_SESSIONS": 3}
