"""The test project with the operator's tools on: metrics (with a token and an address list) and the Admin UI.

``SOCKETIO_VIEWS_BACKEND`` (a Redis URL) adds the scale-out backend, for the
gunicorn test of tests/test_metrics.py.
"""
import os

from .settings import *  # noqa: F403
from .settings import SOCKETIO_VIEWS

SOCKETIO_VIEWS = {
    **SOCKETIO_VIEWS,
    "METRICS": True,
    "METRICS_TOKENS": ["scrape-token"],
    "METRICS_IPS": ["192.0.2.0/24"],
    "ADMIN_UI": {"server_stats_interval": 0.2, "allowed_origins": ["https://admin.socket.io"]},
}
if os.environ.get("SOCKETIO_VIEWS_BACKEND"):
    SOCKETIO_VIEWS["BACKEND"] = os.environ["SOCKETIO_VIEWS_BACKEND"]
    SOCKETIO_VIEWS["BACKEND_OPTIONS"] = {"channel": os.environ["SOCKETIO_VIEWS_BACKEND_CHANNEL"]}
