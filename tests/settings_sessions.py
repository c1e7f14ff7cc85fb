"""The test project with another session engine, from ``SOCKETIO_VIEWS_TEST_SESSION_ENGINE`` (see tests/test_identity.py).

Signed cookies keep nothing on the server; the cache engine uses a Redis
cache, so the test process and the server share its sessions.
"""
import os

from .settings import *  # noqa: F403

SESSION_ENGINE = os.environ["SOCKETIO_VIEWS_TEST_SESSION_ENGINE"]
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
        "KEY_PREFIX": os.environ["SOCKETIO_VIEWS_TEST_CACHE_PREFIX"],
    }
}
