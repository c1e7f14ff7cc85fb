"""The test project behind a declared reverse proxy, with small per-address limits (see tests/test_limits.py)."""
from .settings import *  # noqa: F403
from .settings import SOCKETIO_VIEWS

SOCKETIO_VIEWS = {
    **SOCKETIO_VIEWS,
    "CLIENT_IP_HEADER": "HTTP_X_FORWARDED_FOR",
    "NUM_PROXIES": 1,
    "MAX_CONNECTIONS_PER_IP": 3,
    "HANDSHAKE_RATE": "2/s",
}
