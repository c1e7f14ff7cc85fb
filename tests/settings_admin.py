"""The test project with the Django admin and the live channels page (see tests/test_live.py).

With ``SOCKETIO_VIEWS_BACKEND`` in the environment, its processes share Redis.
"""
import os

from .settings import *  # noqa: F403
from .settings import INSTALLED_APPS, MIDDLEWARE, SOCKETIO_VIEWS

INSTALLED_APPS = ["django.contrib.admin", "django.contrib.messages", *INSTALLED_APPS]
MIDDLEWARE = [*MIDDLEWARE, "django.contrib.messages.middleware.MessageMiddleware"]
ROOT_URLCONF = "tests.testapp.urls_admin"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
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
if os.environ.get("SOCKETIO_VIEWS_BACKEND"):
    SOCKETIO_VIEWS = {
        **SOCKETIO_VIEWS,
        "BACKEND": os.environ["SOCKETIO_VIEWS_BACKEND"],
        "BACKEND_OPTIONS": {"channel": os.environ.get("SOCKETIO_VIEWS_BACKEND_CHANNEL", "socketio_views_tests")},
        "PRESENCE_TTL": 2,
    }
