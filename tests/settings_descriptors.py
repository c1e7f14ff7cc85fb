"""The test project in a process that may open 1,024 files, soft and hard (``ulimit -n 1024``), with a 2-second
handshake deadline (see tests/test_handlers.py)."""
import resource

from .settings import *  # noqa: F403
from .settings import SOCKETIO_VIEWS

# Read in the live server's process only: the settings module is what it imports first.
resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024))

SOCKETIO_VIEWS = {**SOCKETIO_VIEWS, "HANDSHAKE_TIMEOUT": 2}
