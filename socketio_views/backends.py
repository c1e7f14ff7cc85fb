"""
The scale-out backend: python-socketio's pub/sub client managers, chosen by URL.

Example settings::

    SOCKETIO_VIEWS = {"BACKEND": "redis://127.0.0.1:6379/0"}

Every process that serves sockets uses a manager that publishes its
broadcasts and listens for the others'; a process that only sends (a web
worker, a management command, a task queue worker) uses a write-only one.
"""
import threading
from urllib.parse import urlsplit

import socketio
from django.core.exceptions import ImproperlyConfigured

from .conf import views_settings

REDIS_SCHEMES = {"redis", "rediss", "valkey", "valkeys", "unix", "redis+sentinel", "valkey+sentinel"}
KAFKA_SCHEMES = {"kafka"}

_lock = threading.Lock()
_write_only = {}


def scheme_of(url):
    return urlsplit(url).scheme.lower()


def is_redis_url(url):
    """Whether ``url`` names a Redis (or Valkey) server."""
    return bool(url) and scheme_of(url) in REDIS_SCHEMES


def make_manager(url, write_only=False, **options):
    """Return the python-socketio client manager for backend ``url``.

    Redis URLs give ``socketio.RedisManager``, ``kafka://`` ``socketio.KafkaManager``
    and any other scheme (``amqp://``, ``sqs://``…) ``socketio.KombuManager``.
    """
    scheme = scheme_of(url)
    if not scheme:
        raise ImproperlyConfigured(
            f"SOCKETIO_VIEWS['BACKEND'] = {url!r} is not a URL; use e.g. 'redis://127.0.0.1:6379/0'."
        )
    if scheme in REDIS_SCHEMES:
        manager_class = socketio.RedisManager
    elif scheme in KAFKA_SCHEMES:
        manager_class = socketio.KafkaManager
    else:
        manager_class = socketio.KombuManager
    return manager_class(url, write_only=write_only, **{"channel": "socketio_views", **options})


def server_manager():
    """The manager of this process's socket server, or ``None`` without a backend."""
    url = views_settings.BACKEND
    if not url:
        return None
    return make_manager(url, **views_settings.BACKEND_OPTIONS)


def write_only_manager():
    """A cached write-only manager, for processes that send but serve no sockets."""
    url = views_settings.BACKEND
    key = (url, repr(sorted(views_settings.BACKEND_OPTIONS.items())))
    manager = _write_only.get(key)
    if manager is None:
        with _lock:
            manager = _write_only.get(key)
            if manager is None:
                manager = _write_only[key] = make_manager(url, write_only=True, **views_settings.BACKEND_OPTIONS)
    return manager


def presence_url():
    """The Redis URL that holds presence, or ``None`` for this process's memory."""
    url = views_settings.PRESENCE_URL
    if url:
        return url
    backend = views_settings.BACKEND
    return backend if is_redis_url(backend) else None


def rate_limit_storage_url():
    """The ``limits`` storage URL of rate limits."""
    configured = views_settings.RATE_LIMIT_STORAGE
    if configured:
        return configured
    backend = views_settings.BACKEND
    return backend if backend and scheme_of(backend) in {"redis", "rediss"} else "memory://"
