"""Settings of the socketio_views bench project: an ordinary production-like
Django site (DEBUG off, the usual middleware) serving one channel pattern.

Environment (set by bench/bench.py):

* ``BENCH_WORK_DIR``: where the SQLite database lives (default ``bench/.work``).
* ``BENCH_SOCKETIO_VIEWS_BACKEND``: a Redis URL for ``SOCKETIO_VIEWS["BACKEND"]``
  (the scale-out workload), and ``BENCH_SOCKETIO_VIEWS_CHANNEL`` the pub/sub
  channel name (``BACKEND_OPTIONS``); used only if socketio_views has those
  settings.
* ``BENCH_LEAN_MIDDLEWARE=1``: only the session and authentication middleware,
  to measure what the rest of the usual stack costs each handshake.
* ``BENCH_METRICS=off`` (or ``on``): ``SOCKETIO_VIEWS["METRICS"]`` False (or
  True); unset, the default (on when prometheus-client is installed). Used
  only if socketio_views has that setting.
* ``BENCH_SOCKETIO_VIEWS``: a JSON object merged into ``SOCKETIO_VIEWS``
  (``bench/soak.py --setting``).
* ``BENCH_STATS=1``: mounts ``/stats/`` (``benchchat/stats.py``), the soak's
  readings from inside the process.
"""
import json
import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
WORK_DIR = Path(os.environ.get("BENCH_WORK_DIR", BASE_DIR.parent / ".work"))

SECRET_KEY = "bench-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "socketio_views",
    "benchchat",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
if os.environ.get("BENCH_LEAN_MIDDLEWARE"):
    MIDDLEWARE = [
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
    ]
ROOT_URLCONF = "benchproject.urls"
WSGI_APPLICATION = "benchproject.wsgi.application"
TEMPLATES = []
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": WORK_DIR / "bench.sqlite3",
    }
}
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

SOCKETIO_VIEWS = {}
_backend = os.environ.get("BENCH_SOCKETIO_VIEWS_BACKEND")
if _backend:
    from socketio_views.conf import DEFAULTS as _DEFAULTS

    if "BACKEND" in _DEFAULTS:
        SOCKETIO_VIEWS["BACKEND"] = _backend
    if "BACKEND_OPTIONS" in _DEFAULTS and os.environ.get("BENCH_SOCKETIO_VIEWS_CHANNEL"):
        SOCKETIO_VIEWS["BACKEND_OPTIONS"] = {"channel": os.environ["BENCH_SOCKETIO_VIEWS_CHANNEL"]}

if os.environ.get("BENCH_METRICS") in ("on", "off"):
    from socketio_views.conf import DEFAULTS as _DEFAULTS

    if "METRICS" in _DEFAULTS:
        SOCKETIO_VIEWS["METRICS"] = os.environ["BENCH_METRICS"] == "on"

SOCKETIO_VIEWS.update(json.loads(os.environ.get("BENCH_SOCKETIO_VIEWS") or "{}"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"timed": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "timed"}},
    "loggers": {
        "socketio_views": {"handlers": ["console"], "level": "WARNING"},
        # runserver_socketio's access lines (one per request) only for 4xx and 5xx, as before they existed.
        "django.server": {"handlers": ["console"], "level": "WARNING", "propagate": False},
    },
}
