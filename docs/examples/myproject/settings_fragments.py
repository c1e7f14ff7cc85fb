"""Lines the pages add to a project's settings, each between markers.

tests/test_docs_examples.py runs each fragment on its own and checks the
names it sets: Django settings, or keys of ``socketio_views.conf.DEFAULTS``.
"""
import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

# [scaleout]
SOCKETIO_VIEWS = {"BACKEND": "redis://127.0.0.1:6379/0"}
# [/scaleout]

# [redis-cluster]
SOCKETIO_VIEWS = {
    "BACKEND": "redis+cluster://10.0.0.1:6379,10.0.0.2:6379",  # rediss+cluster:// for TLS
    "BACKEND_ROUTING": "sharded",
    "PRESENCE_URL": "redis://10.0.0.9:6379/0",
    "HISTORY_URL": "redis://10.0.0.9:6379/0",
}
# [/redis-cluster]

# [proxy-ssl]
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# [/proxy-ssl]

# [client-ip]
SOCKETIO_VIEWS = {"CLIENT_IP_HEADER": "HTTP_X_FORWARDED_FOR", "NUM_PROXIES": 1}
# [/client-ip]

# [allowed-origins]
SOCKETIO_VIEWS = {
    "ALLOWED_ORIGINS": [
        "https://app.example.com",
        "https://*.example.com",
        "http://localhost:3000",
    ],
}
# [/allowed-origins]

# [logging]
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"socketio_views": {"handlers": ["console"], "level": "INFO"}},
}
# [/logging]

# [sqlite-test-db]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": BASE_DIR / "db.sqlite3",
        "TEST": {"NAME": BASE_DIR / "test_db.sqlite3"},
    }
}
# [/sqlite-test-db]

# [metrics-access]
SOCKETIO_VIEWS = {
    "METRICS_TOKENS": [os.environ["METRICS_TOKEN"]],
    "METRICS_IPS": ["10.0.0.0/8"],
}
# [/metrics-access]

# [admin-ui]
SOCKETIO_VIEWS = {"ADMIN_UI": True}
# [/admin-ui]

# [admin-ui-options]
SOCKETIO_VIEWS = {
    "ADMIN_UI": {
        "mode": "production",      # "development" also lists every socket and event
        "read_only": True,         # False lets the UI emit, join, leave and disconnect
        "namespace": "/admin",
        "server_id": None,         # the name this process shows
        "server_stats_interval": 2,
        "allowed_origins": [],     # e.g. ["https://admin.socket.io"]
    }
}
# [/admin-ui-options]
