"""
The scale-out backend: python-socketio's pub/sub client managers, chosen by URL.

Every process that serves sockets uses a manager that publishes its
broadcasts and listens for the others'; a process that only sends (a web
worker, a management command, a task queue worker) uses a write-only one.
The managers also carry the messages that end identities
(:mod:`socketio_views.identity`) and count what this process delivers
(:mod:`socketio_views.metrics`).

Example usage::

    from socketio_views.transport.managers import make_manager

    manager = make_manager("redis://127.0.0.1:6379/0", write_only=True)
    manager.emit("message", {"text": "hi"}, namespace="/rooms/lobby")
"""
import time

import socketio
from django.core.exceptions import ImproperlyConfigured

from .. import metrics
from ..backends import KAFKA_SCHEMES, REDIS_SCHEMES, scheme_of
from ..conf import views_settings
from ..identity import CONTROL_NAMESPACE, parse_control
from ..outages import Outage


class ControlMessages:
    """A pub/sub manager mixin: the messages that end identities (:mod:`socketio_views.identity`) go to the server.

    They travel as python-socketio ``emit`` messages on a namespace that no
    channel can have, so that every manager carries them unchanged; here they
    are handed to the socket server instead of being emitted.
    """

    def _handle_emit(self, message):
        if message.get("namespace") != CONTROL_NAMESPACE:
            return super()._handle_emit(message)
        identity = parse_control(message)
        end_here = getattr(self.server, "end_identity_here", None)
        if identity is None or end_here is None:
            return
        # Not in the listener's greenlet: ending subscriptions runs their teardown.
        users = identity.pop("recheck")
        if users:
            self.server.start_background_task(self.server.recheck_users_here, users)
        if identity["session"] is not None or identity["user"] is not None:
            self.server.start_background_task(end_here, **identity)


def _count_delivery(manager, event, namespace, room, skip_sid):
    server = manager.server
    if server is not None:
        getattr(server, "meter", metrics.NULL_METER).delivered(manager.rooms, event, namespace or "/", room, skip_sid)


class LocalManager(socketio.Manager):
    """python-socketio's in-memory manager (no ``BACKEND``), which counts deliveries (:mod:`socketio_views.metrics`).

    Each emit is counted once, with the number of its recipients, before
    python-socketio sends it packet by packet.
    """

    def emit(self, event, data, namespace, room=None, skip_sid=None, callback=None, to=None, **kwargs):
        _count_delivery(self, event, namespace, to or room, skip_sid)
        return super().emit(event, data, namespace, room=room, skip_sid=skip_sid, callback=callback, to=to, **kwargs)


class CountedDelivery:
    """A pub/sub manager mixin: counts what this process delivers, once per emit (:mod:`socketio_views.metrics`).

    A pub/sub manager delivers to its own process's subscribers in
    ``_handle_emit()`` (a broadcast of this process or of another), or at once
    for an emit with ``ignore_queue``.
    """

    def emit(self, event, data, namespace=None, room=None, skip_sid=None, callback=None, to=None, **kwargs):
        if kwargs.get("ignore_queue"):
            _count_delivery(self, event, namespace, to or room, skip_sid)
        return super().emit(
            event, data, namespace=namespace, room=room, skip_sid=skip_sid, callback=callback, to=to, **kwargs
        )

    def _handle_emit(self, message):
        _count_delivery(self, message.get("event"), message.get("namespace"), message.get("room"), message.get("skip_sid"))
        return super()._handle_emit(message)


class RedisManager(ControlMessages, CountedDelivery, socketio.RedisManager):
    """python-socketio's Redis manager, which heals quickly and logs an outage once.

    python-socketio's own manager logs two errors for every message it fails
    to publish and one for every attempt to listen again, and waits up to 60
    seconds between those attempts. This one logs one warning when Redis
    fails and one when cross-process delivery works again (through
    :class:`~socketio_views.outages.Outage`), and tries to listen again at
    most ``max_retry_delay`` seconds apart, so that broadcasts cross
    processes again within a few seconds of Redis returning.
    """

    #: Seconds between the first attempts to listen again after a failure;
    #: doubled after each failed attempt, up to ``max_retry_delay``.
    min_retry_delay = 0.5
    max_retry_delay = 2

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.outage = Outage("Cross-process delivery (Redis)", "broadcasts reach the subscribers of their own process only")
        self._listening = False

    def _publish(self, data):
        error = None
        for _attempt in range(2):  # the first may meet a connection that Redis closed
            try:
                if not self.connected:
                    self._redis_connect()
                result = self.redis.publish(self.channel, self.json.dumps(data))
            except Exception as exc:
                self.connected = False
                error = exc
                continue
            # A server's delivery is back once it listens again, not when it
            # can publish: only the listener ends its outage.
            if self.write_only or self._listening:
                self.outage.succeeded()
            return result
        metrics.get_meter().backend_error("publish")
        self.outage.failed(error)
        return None

    def _redis_listen_with_retries(self):
        delay = self.min_retry_delay
        while True:
            try:
                self._redis_connect()
                pubsub = self.pubsub
                pubsub.subscribe(self.channel)
            except Exception as exc:
                metrics.get_meter().backend_error("listen")
                self.outage.failed(exc)
                time.sleep(delay)
                delay = min(delay * 2, self.max_retry_delay)
                continue
            self._listening = True
            self.outage.succeeded()
            delay = self.min_retry_delay
            try:
                yield from pubsub.listen()
            except Exception as exc:
                metrics.get_meter().backend_error("listen")
                self.outage.failed(exc)
            finally:
                self._listening = False
            time.sleep(delay)


class KafkaManager(ControlMessages, CountedDelivery, socketio.KafkaManager):
    """python-socketio's Kafka manager, which carries the messages that end identities."""


class KombuManager(ControlMessages, CountedDelivery, socketio.KombuManager):
    """python-socketio's Kombu manager, which carries the messages that end identities."""


def make_manager(url, write_only=False, **options):
    """Return the python-socketio client manager for backend ``url``.

    Redis URLs give :class:`RedisManager`, ``kafka://`` :class:`KafkaManager`
    and any other scheme (``amqp://``, ``sqs://``…) :class:`KombuManager`.
    """
    scheme = scheme_of(url)
    if not scheme:
        raise ImproperlyConfigured(
            f"SOCKETIO_VIEWS['BACKEND'] = {url!r} is not a URL; use e.g. 'redis://127.0.0.1:6379/0'."
        )
    if scheme in REDIS_SCHEMES:
        manager_class = RedisManager
    elif scheme in KAFKA_SCHEMES:
        manager_class = KafkaManager
    else:
        manager_class = KombuManager
    return manager_class(url, write_only=write_only, **{"channel": "socketio_views", **options})


def server_manager():
    """The manager of this process's socket server: a pub/sub one with a backend, else :class:`LocalManager`."""
    url = views_settings.BACKEND
    if not url:
        return LocalManager()
    return make_manager(url, **views_settings.BACKEND_OPTIONS)


def write_only_manager():
    """A write-only manager, for processes that send but serve no sockets."""
    return make_manager(views_settings.BACKEND, write_only=True, **views_settings.BACKEND_OPTIONS)
