"""
The scale-out backend: python-socketio's pub/sub client managers, chosen by URL.

Example settings::

    SOCKETIO_VIEWS = {"BACKEND": "redis://127.0.0.1:6379/0"}

Every process that serves sockets uses a manager that publishes its
broadcasts and listens for the others'; a process that only sends (a web
worker, a management command, a task queue worker) uses a write-only one.
"""
from urllib.parse import urlsplit

import socketio
from django.core.exceptions import ImproperlyConfigured

from .conf import views_settings

REDIS_SCHEMES = {"redis", "rediss", "valkey", "valkeys", "unix", "redis+sentinel", "valkey+sentinel"}
KAFKA_SCHEMES = {"kafka"}
#: Redis schemes whose server presence and rate limits can share, as the
#: scheme redis-py and ``limits`` know them by (a Valkey server speaks Redis).
SHAREABLE_SCHEMES = {"redis": "redis", "rediss": "rediss", "unix": "unix", "valkey": "redis", "valkeys": "rediss"}


def scheme_of(url):
    return urlsplit(url).scheme.lower()


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
    """A write-only manager, for processes that send but serve no sockets."""
    return make_manager(views_settings.BACKEND, write_only=True, **views_settings.BACKEND_OPTIONS)


def shared_redis_url():
    """The BACKEND as a plain Redis URL that presence and rate limits can share, or ``None``.

    ``valkey://`` becomes ``redis://``; a Sentinel or non-Redis backend gives
    ``None`` (set ``PRESENCE_URL`` and ``RATE_LIMIT_STORAGE`` to share them).
    """
    url = views_settings.BACKEND
    scheme = SHAREABLE_SCHEMES.get(scheme_of(url)) if url else None
    if scheme is None:
        return None
    return scheme + url[url.index(":"):]


def presence_url():
    """The Redis URL that holds presence, or ``None`` for this process's memory."""
    return views_settings.PRESENCE_URL or shared_redis_url()


def rate_limit_storage_url():
    """The ``limits`` storage URL of rate limits."""
    configured = views_settings.RATE_LIMIT_STORAGE
    if configured:
        return configured
    url = shared_redis_url()
    if url is None:
        return "memory://"
    return "redis+unix" + url[len("unix"):] if url.startswith("unix:") else url
