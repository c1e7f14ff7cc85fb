"""Settings of the Django Channels 4 bench project (run with bench/.venv-channels).

Environment (set by bench/bench.py):

* ``BENCH_CHANNEL_LAYER``: ``memory`` (InMemoryChannelLayer, the default) or
  ``redis`` (channels_redis' RedisChannelLayer).
* ``BENCH_REDIS_URL``: the Redis of the ``redis`` layer (default
  ``redis://127.0.0.1:6379/0``); ``BENCH_REDIS_PREFIX``: its key prefix, so
  that a bench run never meets another user's keys.
"""
import os

SECRET_KEY = "bench-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "daphne",
    "channels",
    "benchchannels",
]
MIDDLEWARE = []
ROOT_URLCONF = "benchchannels.urls"
ASGI_APPLICATION = "benchchannels.asgi.application"
DATABASES = {}
USE_TZ = True

if os.environ.get("BENCH_CHANNEL_LAYER", "memory") == "redis":
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [
                    {
                        "address": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0"),
                        # redis-py 8 gives every ConnectionPool max_connections=100
                        # and raises MaxConnectionsError past it instead of waiting;
                        # channels_redis 4.3 keeps that default, so 1,000
                        # consumers doing group_add/group_send at once fail.
                        # Lift the cap (these kwargs go to ConnectionPool.from_url).
                        "max_connections": 100_000,
                    }
                ],
                "prefix": os.environ.get("BENCH_REDIS_PREFIX", "asgi"),
            },
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
