"""Settings of the project's own test suite (PostgreSQL, as the machine provides it)."""
import os

SECRET_KEY = "socketio-views-tests"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
CSRF_TRUSTED_ORIGINS = ["https://trusted.example"]
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.staticfiles",
    "socketio_views",
    "tests.testapp",
    "tests.djsocketio_chat",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
ROOT_URLCONF = "tests.testapp.urls"
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        # A live server started by the tests is pointed at the test database.
        "NAME": os.environ.get("SOCKETIO_VIEWS_TEST_DB", "socketio_views"),
        "HOST": os.environ.get("PGHOST", "127.0.0.1"),
        "PORT": os.environ.get("PGPORT", "5432"),
        "USER": os.environ.get("PGUSER", "postgres"),
        "PASSWORD": os.environ.get("PGPASSWORD", ""),
        "ATOMIC_REQUESTS": True,
    },
    # The database history store on SQLite too (tests/test_history_db.py); only tests that ask for it create it.
    # Named after the PostgreSQL one: nox sessions that run at once each have their own.
    "sqlite": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.path.join(os.environ.get("TMPDIR", "/tmp"), f"{os.environ.get('SOCKETIO_VIEWS_TEST_DB', 'socketio_views')}_tests.sqlite3"),
        "TEST": {"NAME": os.path.join(os.environ.get("TMPDIR", "/tmp"), f"test_{os.environ.get('SOCKETIO_VIEWS_TEST_DB', 'socketio_views')}_tests.sqlite3")},
    },
}
STATIC_URL = "/static/"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"socketio_views": {"handlers": ["console"], "level": "INFO"}},
}
# Short pings: polling clients that vanish are noticed within seconds.
# A live server stopped by a test closes its connections at once (test_drain.py sets its own window).
SOCKETIO_VIEWS = {"SERVER_OPTIONS": {"ping_interval": 2, "ping_timeout": 3}, "DRAIN_WINDOW": 0, "DRAIN_NOTICE": 0}
if os.environ.get("SOCKETIO_VIEWS_TEST_FULL_STACK"):
    # The Engine.IO endpoint through Django's whole handler, as before the lean path.
    SOCKETIO_VIEWS["HANDSHAKE_MIDDLEWARE"] = None

# A module that only this server process imports, so that a test touching it
# restarts this server's autoreloader alone: the nox sessions running at once
# share the checkout, and a touch of a shared module restarted all their servers.
if os.environ.get("SOCKETIO_VIEWS_TEST_WATCHED"):
    import importlib.util
    import sys

    _spec = importlib.util.spec_from_file_location("socketio_views_test_watched", os.environ["SOCKETIO_VIEWS_TEST_WATCHED"])
    sys.modules[_spec.name] = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(sys.modules[_spec.name])
