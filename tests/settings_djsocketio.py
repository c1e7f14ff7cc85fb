"""The test settings, with django-socketio's example chat served by socketio_views.compat."""
from .settings import *  # noqa: F403

ROOT_URLCONF = "tests.djsocketio_chat.urls"
