"""Lines the pages add to a project's settings, each between markers.

tests/test_docs_examples.py runs each fragment on its own and checks the
names it sets: Django settings, or keys of ``socketio_views.conf.DEFAULTS``.
"""
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

# [scaleout]
SOCKETIO_VIEWS = {"BACKEND": "redis://127.0.0.1:6379/0"}
# [/scaleout]

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
