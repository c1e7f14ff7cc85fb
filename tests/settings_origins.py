"""The test project with SOCKETIO_VIEWS["ALLOWED_ORIGINS"] set, for a live server (see tests/test_security.py)."""
from .settings import *  # noqa: F403
from .settings import SOCKETIO_VIEWS

ALLOWED_ORIGINS = ["https://app.example.com", "https://*.example.org"]

SOCKETIO_VIEWS = {**SOCKETIO_VIEWS, "ALLOWED_ORIGINS": ALLOWED_ORIGINS}
