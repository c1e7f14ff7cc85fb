"""The test project with Django's default password hasher (PBKDF2), whose hashes take a real fraction of a second (see tests/test_hub.py).

``SOCKETIO_VIEWS_TEST_HASHING=off`` in the environment turns ``PASSWORD_HASHING_IN_THREADS`` off.
"""
import os

from .settings import *  # noqa: F403
from .settings import SOCKETIO_VIEWS

PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]

SOCKETIO_VIEWS = {
    **SOCKETIO_VIEWS,
    "PASSWORD_HASHING_IN_THREADS": os.environ.get("SOCKETIO_VIEWS_TEST_HASHING") != "off",
    "METRICS_TOKENS": ["hub-token"],
}
