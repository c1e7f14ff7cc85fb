"""Settings of the demo chat. Not for production: DEBUG is on and the key is public."""
import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ.get("DEMO_SECRET_KEY", "demo-only-not-secret")
DEBUG = True
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "socketio_views",
    "chat",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
ROOT_URLCONF = "demo.urls"
WSGI_APPLICATION = "demo.wsgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("DEMO_DATABASE", BASE_DIR / "db.sqlite3"),
        # SQLite's calls block the process's one gevent hub, every socket with
        # it: in WAL mode with synchronous=NORMAL a commit does not wait for the
        # disk (the log is synced at checkpoints), so a chat message's history
        # write does not hold the other rooms.
        "OPTIONS": {"init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"},
    }
}
STATIC_URL = "static/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"
# Login attempts per client address and per username, past which the login page answers 429
# before hashing the password; DEMO_LOGIN_RATE=off turns the limit off (bench/hub.py measures a
# login flood both ways: with it off, every attempt is a password hash).
CHAT_LOGIN_RATE = None if os.environ.get("DEMO_LOGIN_RATE") == "off" else os.environ.get("DEMO_LOGIN_RATE", "10/m")
# Whose messages share the budget of 3 a second: each user, else each address; bench/hub.py's
# witness (8 people on one machine) sets DEMO_MESSAGE_RATE_SCOPE=subscription.
CHAT_MESSAGE_RATE_SCOPE = os.environ.get("DEMO_MESSAGE_RATE_SCOPE", "user_or_ip")
# The number of rooms, and new rooms per address and per user; bench/hub.py raises both to open
# 100 rooms (DEMO_MAX_ROOMS, DEMO_ROOM_CREATION_RATE).
CHAT_MAX_ROOMS = int(os.environ.get("DEMO_MAX_ROOMS", "50"))
CHAT_ROOM_CREATION_RATE = os.environ.get("DEMO_ROOM_CREATION_RATE", "5/10m")

# One process by default, its rooms' history and recovery sessions in the database
# (kept across restarts); set SOCKETIO_VIEWS_BACKEND=redis://127.0.0.1:6379/0 to run
# several processes (e.g. on two ports) that share broadcasts, presence and history in Redis.
BACKEND = os.environ.get("SOCKETIO_VIEWS_BACKEND") or None
SOCKETIO_VIEWS = {
    "BACKEND": BACKEND,
    "HISTORY_URL": None if BACKEND else "django",
    "BACKEND_OPTIONS": {"channel": os.environ.get("SOCKETIO_VIEWS_BACKEND_CHANNEL", "socketio_views")},
    "RATE_LIMIT_STORAGE": os.environ.get("SOCKETIO_VIEWS_RATE_LIMIT_STORAGE") or None,
    # Behind a reverse proxy, the request.META key of the header it sets to the client's address
    # (e.g. HTTP_X_FORWARDED_FOR), for the limits per address. bench/hub.py sets DEMO_CLIENT_IP_HEADER
    # to play crowds from one address on one machine, whose loopback the limits exempt.
    "CLIENT_IP_HEADER": os.environ.get("DEMO_CLIENT_IP_HEADER") or None,
}
# Times in UTC, the access log's included (Django's default is America/Chicago).
TIME_ZONE = "UTC"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"socketio_views": {"handlers": ["console"], "level": "INFO"}},
}
