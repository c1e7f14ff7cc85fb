"""The test project with a handshake middleware that computes for ``X-Costly-Handshake`` seconds on the hub, behind a declared proxy that allows 10 connections per address (see tests/test_pacing.py)."""
from .settings import *  # noqa: F403
from .settings import SOCKETIO_VIEWS

SOCKETIO_VIEWS = {
    **SOCKETIO_VIEWS,
    "CLIENT_IP_HEADER": "HTTP_X_FORWARDED_FOR",
    "MAX_CONNECTIONS_PER_IP": 10,
    "HANDSHAKE_RATE": None,
    "HANDSHAKE_MIDDLEWARE": [
        "tests.testapp.middleware.CostlyHandshakeMiddleware",
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
    ],
}
