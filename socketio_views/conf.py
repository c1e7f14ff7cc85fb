"""
The ``SOCKETIO_VIEWS`` setting, read through a lazy object with defaults::

    from socketio_views.conf import views_settings
    views_settings.SERVER_OPTIONS

The object reloads when a test changes the setting with ``override_settings``.
"""
from django.conf import settings
from django.core.signals import setting_changed

SETTING_NAME = "SOCKETIO_VIEWS"

DEFAULTS = {
    # Keyword arguments for python-socketio's ``socketio.Server`` (for example
    # ``ping_interval``, ``ping_timeout``); they override the package's own.
    "SERVER_OPTIONS": {},
    # Close the handler's database connections after every dispatch. Handlers
    # run in one greenlet per socket, so persistent connections would grow
    # with the number of sockets.
    "CLOSE_DB_CONNECTIONS": True,
    # Origins (scheme://host[:port]) whose pages may connect; None decides as
    # Django's CSRF check (own origin, CSRF_TRUSTED_ORIGINS); "*" allows all.
    "ALLOWED_ORIGINS": None,
    # The largest Engine.IO message or polling request accepted, in bytes; a
    # larger one is refused from its header, unread, and closes the connection.
    "MAX_MESSAGE_SIZE": 100_000,
    # Binary attachments one event may carry (None: no limit); more closes
    # the connection.
    "MAX_ATTACHMENTS": 10,
    # Acknowledgements the server may await from one connection (sends with
    # a callback); past it the connection is closed (None: no limit).
    "MAX_PENDING_ACKS": 100,
    # How deeply an event's JSON payload may nest.
    "MAX_PAYLOAD_DEPTH": 32,
    # Subscriptions one connection may hold at once (None: no limit).
    "MAX_SUBSCRIPTIONS": 100,
    # Subscriptions the connections of one client address may hold at once
    # in each process, all together (None: no limit). Loopback clients are
    # not limited.
    "MAX_SUBSCRIPTIONS_PER_IP": 1000,
    # What may wait to be sent to one connection (None: no limit). Past it a
    # channel's slow_consumer_policy applies: end the connection (default)
    # or drop the message.
    "MAX_QUEUED_BYTES": 1_000_000,
    "MAX_QUEUED_MESSAGES": 10_000,
    # Connections one client address may hold open in each process, and new
    # connections it may open per second (a rate such as "20/s"); None: no
    # limit. Loopback clients are not limited.
    "MAX_CONNECTIONS_PER_IP": 100,
    "HANDSHAKE_RATE": "20/s",
    # Handshakes each process works on at once (from their arrival, before
    # Django's middleware, to their response, their wait for a turn of the
    # event loop included); past it a handshake is answered 503 with
    # Retry-After at once (None: no limit).
    "MAX_HANDSHAKES_IN_PROGRESS": 256,
    # Subscriptions each process decides at once (the view's checks,
    # on_subscribe, recovery, history), in order of arrival, each started
    # only while the event loop's turn has time left, so that a crowd
    # subscribing does not hold the established connections' events
    # (socketio_views.transport.pacing). None: each as it arrives.
    "MAX_SUBSCRIPTIONS_IN_PROGRESS": 8,
    # The request.META key of a header that the reverse proxies in front of
    # the server set to the client's address (e.g. "HTTP_X_FORWARDED_FOR"),
    # and how many proxies append to it. None: REMOTE_ADDR, headers ignored.
    "CLIENT_IP_HEADER": None,
    "NUM_PROXIES": 1,
    # The ``limits`` storage of RateLimitMixin: "memory://" (one process) or
    # e.g. "redis://127.0.0.1:6379/0" (shared by every process). None means
    # the BACKEND when it is Redis, else memory.
    "RATE_LIMIT_STORAGE": None,
    # The message queue that carries broadcasts between processes: None (one
    # process), "redis://…" (also rediss://, valkey://, unix://,
    # redis+sentinel://, and redis+cluster://host:port,host:port with
    # BACKEND_ROUTING "sharded"), "kafka://…" or an AMQP/Kombu URL ("amqp://…").
    "BACKEND": None,
    # Keyword arguments of the python-socketio manager, e.g. {"channel": "chat"}.
    "BACKEND_OPTIONS": {},
    # How a Redis BACKEND carries broadcasts: None or "channel" (each channel
    # on a Redis channel of its own, heard only by the processes that serve
    # it), "sharded" (the same with Redis 7's sharded pub/sub), "shared" (one
    # Redis channel that every process reads, as python-socketio does).
    "BACKEND_ROUTING": None,
    # Where presence is kept: None means the BACKEND when it is Redis, else
    # this process's memory; or a Redis URL.
    "PRESENCE_URL": None,
    # Seconds a subscription stays present without its process's heartbeat:
    # the longest a crashed process's subscribers may linger.
    "PRESENCE_TTL": 30,
    # Seconds over which each process gathers a channel's joins and leaves
    # into one presence_diff (0 or None: one per join or leave, at once).
    "PRESENCE_INTERVAL": 0.2,
    # Subscriptions of a channel past which PresenceMixin sends only counts
    # (presence_count), not lists (None: no limit).
    "PRESENCE_LIST_LIMIT": 100,
    # Broadcasts kept per channel for views that do not set ``history``
    # (0: none; channel state recovery needs history).
    "HISTORY": 0,
    # Seconds a channel's history is kept after its last broadcast.
    "HISTORY_TTL": 3600,
    # Seconds after a disconnection during which a client may recover its
    # subscription (Socket.IO's maxDisconnectionDuration).
    "RECOVERY_WINDOW": 120,
    # Recovery sessions of ended subscriptions that a process keeps in its
    # memory (no Redis or database history), the oldest forgotten first
    # (None: no limit); live subscriptions' sessions do not count.
    "MAX_RECOVERY_SESSIONS": 10_000,
    # Where history and recovery sessions are kept: None means the BACKEND
    # when it is Redis, else this process's memory; or a Redis URL; or
    # "django" (the default database, "django://<alias>" for another).
    "HISTORY_URL": None,
    # When sends are checked against the views' ``emits``: "debug" (while
    # DEBUG is on), "always" or "never". The test client always checks.
    "CHECK_EMITS": "debug",
    # Prometheus metrics (socketio_views.metrics): None means on when
    # prometheus-client is installed, True requires it, False turns them off.
    "METRICS": None,
    # Who may read the metrics view besides active staff users: bearer tokens
    # (Authorization: Bearer <token>) and client addresses or networks
    # ("10.0.0.0/8"), the address read as the connection limits read it.
    "METRICS_TOKENS": [],
    "METRICS_IPS": [],
    # python-socketio's Admin UI (namespace /admin) for staff users: False
    # (off), True, or a dict of options (mode, read_only, namespace,
    # server_id, server_stats_interval, allowed_origins).
    "ADMIN_UI": False,
    # Seconds over which a process that stops (SIGTERM: gunicorn's graceful
    # shutdown, a container stop) closes its connections' transports, spread
    # and jittered, so that their clients reconnect elsewhere as a steady
    # stream; gunicorn's graceful_timeout must exceed it.
    "DRAIN_WINDOW": 10,
    # Seconds the drain waits, at most, for the load balancer's health check
    # (socketio_views.drain.health_check) to see it fail before closing the
    # first connection; it starts as soon as the check has answered 503.
    "DRAIN_NOTICE": 1,
    # The same for runserver_socketio's autoreload (clients wait for the new
    # process anyway: keep it short).
    "RELOAD_DRAIN_WINDOW": 0.5,
    # Seconds a TCP connection may take to send a complete request head (its
    # handshake, or its next request on a kept-alive connection) before it is
    # closed without a response (None: no limit).
    "HANDSHAKE_TIMEOUT": 10,
    # Run Django's password hashing (check_password, make_password, the
    # hashers) in a pool of threads under runserver_socketio and the
    # gunicorn worker, so that a login does not hold every socket
    # (socketio_views.hub).
    "PASSWORD_HASHING_IN_THREADS": True,
    # Seconds a greenlet may hold the gevent hub before gevent's monitor
    # reports it (a warning naming the view or handler, and the
    # socketio_views_hub_blocked_seconds metric); None: no monitor.
    "MAX_BLOCKING_TIME": 0.1,
    # Middleware that builds the request of an Engine.IO handshake (its
    # session and user) on the lean path of socketio_views.wsgi; requests of
    # an established connection skip Django. None: every Engine.IO request
    # goes through Django's handler, the whole MIDDLEWARE and the URLconf.
    "HANDSHAKE_MIDDLEWARE": [
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
    ],
}


class ViewsSettings:
    """Attribute access to ``settings.SOCKETIO_VIEWS`` merged over :data:`DEFAULTS`."""

    def __init__(self, defaults=None):
        self.defaults = defaults or DEFAULTS
        self._cached = {}

    @property
    def user_settings(self):
        return getattr(settings, SETTING_NAME, {}) or {}

    def __getattr__(self, name):
        if name not in self.defaults:
            raise AttributeError(f"Invalid {SETTING_NAME} setting: {name!r}")
        if name not in self._cached:
            self._cached[name] = self.user_settings.get(name, self.defaults[name])
        return self._cached[name]

    def reload(self):
        self._cached.clear()


views_settings = ViewsSettings()


def _reload_settings(*, setting, **kwargs):
    if setting == SETTING_NAME:
        views_settings.reload()


setting_changed.connect(_reload_settings)
