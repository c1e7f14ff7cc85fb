"""The test project with Django's default password hasher (PBKDF2), whose hashes take a real fraction of a second (see tests/test_hub.py).

``SOCKETIO_VIEWS_TEST_HASHING=off`` in the environment turns ``PASSWORD_HASHING_IN_THREADS`` off,
``SOCKETIO_VIEWS_TEST_PRESENCE_INTERVAL=0`` the coalescing of presence events. Pings are far apart, so
that raw test sockets, which do not answer them, stay connected. Behind a declared proxy, one
address may hold 5 subscriptions over all its connections. The process works on 2 handshakes at once,
which a header can make slow (``X-Slow-Handshake: <seconds>``); each answer that went through the
handshake middleware says how many did (``X-Handshakes-Seen``).
"""
import os

from .settings import *  # noqa: F403
from .settings import SOCKETIO_VIEWS

PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]

SOCKETIO_VIEWS = {
    **SOCKETIO_VIEWS,
    "PASSWORD_HASHING_IN_THREADS": os.environ.get("SOCKETIO_VIEWS_TEST_HASHING") != "off",
    "METRICS_TOKENS": ["hub-token"],
    "PRESENCE_INTERVAL": float(os.environ.get("SOCKETIO_VIEWS_TEST_PRESENCE_INTERVAL", "0.2")),
    "SERVER_OPTIONS": {"ping_interval": 25, "ping_timeout": 20},
    # Loopback clients are not limited; those that say they come from elsewhere are.
    "CLIENT_IP_HEADER": "HTTP_X_FORWARDED_FOR",
    "MAX_SUBSCRIPTIONS_PER_IP": 5,
    "MAX_HANDSHAKES_IN_PROGRESS": 2,
    # The lean path's middleware, and one that a request may ask to be slow.
    "HANDSHAKE_MIDDLEWARE": [
        "tests.testapp.middleware.SeenHandshakesMiddleware",
        "tests.testapp.middleware.SlowHandshakeMiddleware",
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
    ],
}
