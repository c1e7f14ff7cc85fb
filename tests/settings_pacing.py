"""The test project with a handshake middleware that computes for ``X-Costly-Handshake`` seconds on the hub (see tests/test_pacing.py)."""
from .settings import *  # noqa: F403
from .settings import SOCKETIO_VIEWS

SOCKETIO_VIEWS = {
    **SOCKETIO_VIEWS,
    "HANDSHAKE_MIDDLEWARE": [
        "tests.testapp.middleware.CostlyHandshakeMiddleware",
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
    ],
}
