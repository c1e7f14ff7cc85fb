"""
The scale-out backend's URL, and the stores that share it (presence, rate limits, history).

Example settings::

    SOCKETIO_VIEWS = {"BACKEND": "redis://127.0.0.1:6379/0"}

The pub/sub managers that carry broadcasts between processes are in
:mod:`socketio_views.transport.managers`.
"""
from urllib.parse import urlsplit

from .conf import views_settings

#: Schemes of a Redis Cluster BACKEND (socketio_views.transport.cluster), with BACKEND_ROUTING "sharded" only.
CLUSTER_SCHEMES = {"redis+cluster", "rediss+cluster"}
REDIS_SCHEMES = {"redis", "rediss", "valkey", "valkeys", "unix", "redis+sentinel", "valkey+sentinel", *CLUSTER_SCHEMES}
KAFKA_SCHEMES = {"kafka"}
#: Redis schemes whose server presence and rate limits can share, as the
#: scheme redis-py and ``limits`` know them by (a Valkey server speaks Redis).
SHAREABLE_SCHEMES = {"redis": "redis", "rediss": "rediss", "unix": "unix", "valkey": "redis", "valkeys": "rediss"}


def scheme_of(url):
    """The scheme of backend ``url``, in lower case (``"redis"``, ``"kafka"``, ``"amqp"``…)."""
    return urlsplit(url).scheme.lower()


def is_cluster_url(url):
    """Whether backend ``url`` names a Redis Cluster: ``redis+cluster://`` or ``rediss+cluster://``."""
    return scheme_of(url) in CLUSTER_SCHEMES


def is_database_url(url):
    """Whether ``url`` (``HISTORY_URL``) names the Django database: ``"django"`` or ``"django://<alias>"``."""
    return isinstance(url, str) and (url == "django" or url.startswith("django://"))


def shared_redis_url():
    """The BACKEND as a plain Redis URL that presence and rate limits can share, or ``None``.

    ``valkey://`` becomes ``redis://``; a Sentinel, Cluster or non-Redis
    backend gives ``None`` (set ``PRESENCE_URL``, ``HISTORY_URL`` and, but
    for ``redis+cluster://``, ``RATE_LIMIT_STORAGE`` to share them).
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
    """The ``limits`` storage URL of rate limits (``limits`` knows a ``redis+cluster://`` BACKEND's URL as it is)."""
    configured = views_settings.RATE_LIMIT_STORAGE
    if configured:
        return configured
    if views_settings.BACKEND and scheme_of(views_settings.BACKEND) == "redis+cluster":
        return views_settings.BACKEND
    url = shared_redis_url()
    if url is None:
        return "memory://"
    return "redis+unix" + url[len("unix"):] if url.startswith("unix:") else url
