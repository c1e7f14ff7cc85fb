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
from ..backends import KAFKA_SCHEMES, REDIS_SCHEMES, is_cluster_url, scheme_of
from ..conf import views_settings
from ..identity import CONTROL_NAMESPACE, parse_control
from ..outages import Outage
from .cluster import ClusterListener, cluster_client


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

    def wait_until_routed(self, namespace):
        """Return once this process hears the broadcasts of ``namespace`` from the backend: at once, it hears them all."""


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

    def wait_until_routed(self, namespace):
        """Return at once: one process hears every broadcast."""


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
        #: The pub/sub connection the listener reads (publishing may connect ``self.pubsub`` anew).
        self.listening_pubsub = None
        self.closed = False
        #: The manager's channel as Redis names it in the messages it sends (read() compares bytes, not decoding each name).
        self.channel_bytes = self.channel.encode("utf-8")

    def close(self):
        """Stop listening: the listener's connection closes and it does not connect again (tests, shutdown)."""
        self.closed = True
        if self.listening_pubsub is not None:
            self.listening_pubsub.close()

    def redis_channel_for(self, message):
        """The Redis channel that carries ``message`` (a python-socketio pub/sub message): the manager's one channel."""
        return self.channel

    def _publish(self, data):
        error = None
        channel = self.redis_channel_for(data)
        for _attempt in range(2):  # the first may meet a connection that Redis closed
            try:
                if not self.connected:
                    self._redis_connect()
                result = self.publish_to(channel, self.json.dumps(data))
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

    def publish_to(self, channel, payload):
        """Publish ``payload`` on Redis channel ``channel``."""
        return self.redis.publish(channel, payload)

    def subscribe_all(self, pubsub):
        """Subscribe a new pub/sub connection to what this process listens to."""
        pubsub.subscribe(self.channel)

    def _redis_listen_with_retries(self):
        delay = self.min_retry_delay
        while not self.closed:
            try:
                self._redis_connect()
                pubsub = self.pubsub
                self.subscribe_all(pubsub)
            except Exception as exc:
                metrics.get_meter().backend_error("listen")
                self.outage.failed(exc)
                time.sleep(delay)
                delay = min(delay * 2, self.max_retry_delay)
                continue
            self._listening = True
            self.listening_pubsub = pubsub
            self.outage.succeeded()
            self.started_listening()
            delay = self.min_retry_delay
            try:
                yield from pubsub.listen()
            except Exception as exc:
                if self.closed:
                    break
                metrics.get_meter().backend_error("listen")
                self.outage.failed(exc)
            finally:
                self._listening = False
                self.stopped_listening()
            time.sleep(delay)
        # python-socketio's listener logs an error when this generator ends: park it instead.
        self.server.eio.create_event().wait()

    def started_listening(self):
        """The listener has subscribed (:meth:`subscribe_all`) and reads from ``listening_pubsub``."""

    def stopped_listening(self):
        """The pub/sub connection broke; the listener connects and subscribes again."""

    def _listen(self):
        meter = metrics.get_meter()
        for message in self._redis_listen_with_retries():
            data = self.read(message)
            if data is not None:
                meter.backend_message_received()
                yield data

    def read(self, message):
        """The payload of a message read from Redis, or ``None`` for a message not to be handled."""
        if message["type"] == "message" and message["channel"] == self.channel_bytes:
            return message["data"]
        return None


class RoutedRedisManager(RedisManager):
    """The Redis manager that routes each channel's broadcasts on a Redis channel of its own.

    A broadcast (any ``emit`` to a channel's namespace) is published on
    ``"<channel>#<namespace>"``, and a process subscribes in Redis to it when
    its first local subscriber of that channel arrives (``pre_connect``), and
    unsubscribes :attr:`unsubscribe_delay` seconds after the last one left:
    a process reads only the broadcasts of the channels it serves. Everything
    else (logouts and other control messages, server-side disconnects, rooms,
    acknowledgements across processes) goes on the manager's one channel,
    which every process reads.

    A new subscription is confirmed only once its process hears its channel
    (:meth:`wait_until_routed`), so it misses nothing published after its
    confirmation; what was published before is in the channel's history,
    where the view keeps one.

    :param sharded: publish and subscribe the channels' Redis channels with
        Redis 7's sharded pub/sub (``SPUBLISH`` / ``SSUBSCRIBE``), which a
        Redis Cluster spreads over its shards. A ``redis+cluster://`` URL
        needs it (:mod:`socketio_views.transport.cluster`).
    :param unsubscribe_delay: overrides :attr:`unsubscribe_delay`.
    :param subscribe_timeout: overrides :attr:`subscribe_timeout`.
    """

    #: Seconds a channel's Redis subscription is kept after its last local subscriber left (resubscribing costs a round trip).
    unsubscribe_delay = 5
    #: Seconds a new subscription waits for its channel's Redis subscription before it goes on without (Redis is failing).
    subscribe_timeout = 2

    def __init__(self, url="redis://localhost:6379/0", channel="socketio", write_only=False, logger=None,
                 redis_options=None, sharded=False, unsubscribe_delay=None, subscribe_timeout=None):
        super().__init__(url, channel=channel, write_only=write_only, logger=logger, redis_options=redis_options)
        self.sharded = sharded
        if unsubscribe_delay is not None:
            self.unsubscribe_delay = unsubscribe_delay
        if subscribe_timeout is not None:
            self.subscribe_timeout = subscribe_timeout
        self.prefix = f"{self.channel}#"
        #: Redis channel, in bytes as Redis's messages name it -> its :class:`Route` (wanted by this process, and
        #: whether Redis confirmed it).
        self.routes = {}
        self._flush_scheduled = False

    def redis_channel_for(self, message):
        namespace = message.get("namespace")
        if message.get("method") != "emit" or not namespace or namespace in ("/", CONTROL_NAMESPACE):
            return self.channel
        return self.prefix + namespace

    def route_key(self, namespace):
        """The Redis channel of ``namespace``'s broadcasts, in bytes: its key in :attr:`routes`."""
        return (self.prefix + namespace).encode("utf-8")

    def publish_to(self, channel, payload):
        if self.sharded and channel != self.channel:
            return self.redis.spublish(channel, payload)
        return self.redis.publish(channel, payload)

    # Which channels this process listens to.

    def pre_connect(self, eio_sid, namespace):
        sid = super().pre_connect(eio_sid, namespace)
        if sid is not None and not self.write_only and namespace != "/":
            key = self.route_key(namespace)
            route = self.routes.get(key)
            if route is None:
                self.routes[key] = Route(self.server.eio.create_event())
                self._schedule_flush()
            elif route.leaving_since is not None:
                route.leaving_since = None
        return sid

    def basic_disconnect(self, sid, namespace, **kwargs):
        super().basic_disconnect(sid, namespace, **kwargs)
        route = self.routes.get(self.route_key(namespace))
        if route is not None and namespace not in self.rooms:
            route.leaving_since = time.monotonic()
            self._schedule_flush(self.unsubscribe_delay)

    def wait_until_routed(self, namespace):
        """Wait until this process hears ``namespace``'s broadcasts from Redis (at most :attr:`subscribe_timeout`)."""
        route = self.routes.get(self.route_key(namespace))
        if route is None or route.confirmed.is_set() or self.outage.down:
            return  # not routed here, heard already, or Redis is failing (its outage is logged)
        route.confirmed.wait(self.subscribe_timeout)

    def _schedule_flush(self, delay=0):
        if self._flush_scheduled and not delay:
            return
        self._flush_scheduled = not delay
        self.server.start_background_task(self._flush, delay)

    def _flush(self, delay):
        """Subscribe and unsubscribe in Redis, in one command each, what changed since the last flush."""
        if delay:
            self.server.sleep(delay)
        else:
            self._flush_scheduled = False
        now = time.monotonic()
        joining = [channel for channel, route in self.routes.items() if not route.requested]
        leaving = [
            channel for channel, route in self.routes.items()
            if route.leaving_since is not None and now - route.leaving_since >= self.unsubscribe_delay
            and channel.decode("utf-8")[len(self.prefix):] not in self.rooms
        ]
        for channel in leaving:
            del self.routes[channel]
        if not self._listening:
            return  # the listener subscribes to every wanted channel when it connects again
        try:
            if joining:
                for channel in joining:
                    self.routes[channel].requested = True
                self._subscribe(self.listening_pubsub, joining)
            if leaving:
                pubsub = self.listening_pubsub
                (pubsub.sunsubscribe if self.sharded else pubsub.unsubscribe)(*leaving)
        except Exception as exc:
            metrics.get_meter().backend_error("listen")
            self.outage.failed(exc)

    def _subscribe(self, pubsub, channels):
        (pubsub.ssubscribe if self.sharded else pubsub.subscribe)(*channels)

    def subscribe_all(self, pubsub):
        pubsub.subscribe(self.channel)
        for route in self.routes.values():
            route.requested = True
        if self.routes:
            self._subscribe(pubsub, list(self.routes))

    def started_listening(self):
        if any(not route.requested for route in self.routes.values()):
            self._schedule_flush()  # wanted while the listener was subscribing

    def stopped_listening(self):
        for route in self.routes.values():
            route.requested = False
            route.confirmed.clear()

    def read(self, message):
        # Called for every message Redis sends: the names are compared as bytes, as they arrive.
        kind, channel = message["type"], message["channel"]
        if kind in ("subscribe", "ssubscribe"):
            route = self.routes.get(channel)
            if route is not None and route.requested:
                route.confirmed.set()
            return None
        if kind in ("message", "smessage") and (channel == self.channel_bytes or channel in self.routes):
            return message["data"]
        if kind == "sunsubscribe":
            route = self.routes.get(channel)
            if route is not None and route.requested:
                # Redis ended a subscription this process still wants: its
                # slot moved to another shard (a cluster's resharding or
                # failover). Subscribe again, where the slot is now.
                route.requested = False
                route.confirmed.clear()
                slots_moved = getattr(self.listening_pubsub, "slots_moved", None)
                if slots_moved is not None:
                    slots_moved()
                self._schedule_flush()
        return None

    def _redis_connect(self):
        if is_cluster_url(self.redis_url):
            self.redis = cluster_client(self.redis_url, **self.redis_options)
            self.pubsub = None
            if self.server is not None:
                self.pubsub = ClusterListener(self.redis, self.server.start_background_task)
            self.connected = True
            return
        super()._redis_connect()
        # The subscriptions' confirmations are what wait_until_routed() waits for.
        self.pubsub = self.redis.pubsub()


class Route:
    """A channel's Redis channel, as this process listens to it.

    :param confirmed: an event of the server's async mode, set once Redis confirms the subscription.
    """

    def __init__(self, confirmed):
        #: Whether its subscription was sent to Redis.
        self.requested = False
        #: Set once Redis confirmed it: the process hears the channel.
        self.confirmed = confirmed
        #: When its last local subscriber left (``time.monotonic()``), or ``None``.
        self.leaving_since = None


class KafkaManager(ControlMessages, CountedDelivery, socketio.KafkaManager):
    """python-socketio's Kafka manager, which carries the messages that end identities."""


class KombuManager(ControlMessages, CountedDelivery, socketio.KombuManager):
    """python-socketio's Kombu manager, which carries the messages that end identities."""


#: ``BACKEND_ROUTING`` values: how a Redis backend carries broadcasts.
ROUTINGS = ("channel", "sharded", "shared")


def make_manager(url, write_only=False, routing=None, **options):
    """Return the python-socketio client manager for backend ``url``.

    Redis URLs give :class:`RoutedRedisManager` (``routing`` ``"channel"``,
    the default, or ``"sharded"``, which a ``redis+cluster://`` URL needs)
    or :class:`RedisManager` (``"shared"``),
    ``kafka://`` :class:`KafkaManager` and any other scheme (``amqp://``,
    ``sqs://``…) :class:`KombuManager`, which carry every broadcast to every
    process.
    """
    scheme = scheme_of(url)
    if not scheme:
        raise ImproperlyConfigured(
            f"SOCKETIO_VIEWS['BACKEND'] = {url!r} is not a URL; use e.g. 'redis://127.0.0.1:6379/0'."
        )
    if routing not in (None, *ROUTINGS):
        raise ImproperlyConfigured(
            f"SOCKETIO_VIEWS['BACKEND_ROUTING'] = {routing!r}; use one of {', '.join(map(repr, ROUTINGS))} or None."
        )
    if is_cluster_url(url) and routing != "sharded":
        raise ImproperlyConfigured(
            f"SOCKETIO_VIEWS['BACKEND'] is a Redis Cluster ({scheme}://), which carries broadcasts with sharded pub/sub only: "
            f"set SOCKETIO_VIEWS['BACKEND_ROUTING'] = 'sharded' (it is {routing!r})."
        )
    if scheme in REDIS_SCHEMES:
        if routing == "shared":
            manager_class = RedisManager
        else:
            manager_class = RoutedRedisManager
            options = {"sharded": routing == "sharded", **options}
    elif routing not in (None, "shared"):
        raise ImproperlyConfigured(
            f"SOCKETIO_VIEWS['BACKEND_ROUTING'] = {routing!r} needs a Redis BACKEND; "
            f"{scheme}:// carries every broadcast to every process: remove BACKEND_ROUTING."
        )
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
    return make_manager(url, routing=views_settings.BACKEND_ROUTING, **views_settings.BACKEND_OPTIONS)


def write_only_manager():
    """A write-only manager, for processes that send but serve no sockets."""
    return make_manager(
        views_settings.BACKEND, write_only=True, routing=views_settings.BACKEND_ROUTING, **views_settings.BACKEND_OPTIONS
    )
