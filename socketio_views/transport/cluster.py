"""
Redis Cluster for the routed manager: its URL, and its pub/sub read as one stream.

A ``redis+cluster://`` (or ``rediss+cluster://``) ``BACKEND`` names some of a
cluster's masters; :class:`~socketio_views.transport.managers.RoutedRedisManager`
then publishes each channel's broadcasts with ``SPUBLISH`` on the shard that
owns its Redis channel's slot, and listens through a :class:`ClusterListener`.

Example settings::

    SOCKETIO_VIEWS = {
        "BACKEND": "redis+cluster://10.0.0.1:6379,10.0.0.2:6379",
        "BACKEND_ROUTING": "sharded",
        # Presence and history are not kept in a cluster: a plain Redis.
        "PRESENCE_URL": "redis://10.0.0.9:6379/0",
        "HISTORY_URL": "redis://10.0.0.9:6379/0",
    }

Why not redis-py's own ``RedisCluster.pubsub()`` (a ``ClusterPubSub``,
redis-py 7.1): it sends each ``SSUBSCRIBE`` to the shard that owns the
channel, over a connection per shard, but its ``listen()`` reads only the
connection of plain ``SUBSCRIBE``, and ``get_sharded_message()`` polls the
shards' connections without blocking, so there is no call that waits for
the next message of any shard; it sends one command per channel; and it
lists a shard's connection before opening it, so that a second caller sees
a connection that is not there yet. :class:`ClusterListener` holds a
redis-py ``PubSub`` per shard (on the shard's own client,
``ClusterNode.redis_connection``), subscribes one command per slot, and
reads each connection in a task of the server's async mode. The redis-py
internals it leans on are listed, with why, in
:data:`~socketio_views.transport.engine.REDIS_HOOKS`.
"""
import queue
import threading
from urllib.parse import unquote, urlsplit

from ..backends import CLUSTER_SCHEMES


def cluster_client(url, **options):
    """A ``redis.cluster.RedisCluster`` for ``url``: ``redis+cluster://[user:password@]host:port[,host:port…]``.

    The hosts are startup nodes: the client learns the others (and which
    shard owns which slot) from them. ``options`` go to ``RedisCluster()``.
    """
    from redis.cluster import ClusterNode, RedisCluster

    parts = urlsplit(url)
    kwargs = {"ssl": parts.scheme.lower() == "rediss+cluster"}
    if parts.username:
        kwargs["username"] = unquote(parts.username)
    if parts.password:
        kwargs["password"] = unquote(parts.password)
    nodes = []
    for address in parts.netloc.rpartition("@")[2].split(","):
        host, _, port = address.rpartition(":")
        nodes.append(ClusterNode(host, int(port)))
    return RedisCluster(startup_nodes=nodes, **{**kwargs, **options})


class ClusterListener:
    """A Redis Cluster's pub/sub, read as one stream: the plain channels' connection and each shard's.

    It answers the calls :class:`~socketio_views.transport.managers.RoutedRedisManager`
    makes of a redis-py ``PubSub`` (``subscribe``, ``ssubscribe``,
    ``sunsubscribe``, ``listen``, ``close``). :meth:`listen` yields the
    messages of every connection as their readers receive them, and raises
    the first error of any, after closing them all: the manager then connects
    and subscribes again (to the shards that own its channels then).

    :param client: a ``redis.cluster.RedisCluster``.
    :param spawn: starts a background task of the server's async mode
        (``server.start_background_task``); the readers hand their messages
        over through a ``queue.Queue``, which gevent's monkey patching (that
        python-socketio's Redis manager requires) makes cooperative.
    """

    def __init__(self, client, spawn):
        self.client = client
        self.spawn = spawn
        self.queue = queue.Queue()
        # Two flushes may subscribe at once: one PubSub is not to be used by two.
        self.lock = threading.Lock()
        #: Shard name (``"host:port"``, or ``"plain"``) -> its redis-py PubSub.
        self.pubsubs = {}
        #: The names of those whose connection a reader reads (from their first subscription on).
        self.reading = set()
        self.closed = False
        #: Whether the client's map of slots is to be read again before the next subscription.
        self.stale = False

    def subscribe(self, *channels):
        """``SUBSCRIBE`` on one connection (a cluster sends plain pub/sub's messages to every shard)."""
        with self.lock:
            if not self.closed:
                self._pubsub("plain", self.client.get_default_node()).subscribe(*channels)
                self._start_reading("plain")

    def ssubscribe(self, *channels):
        """``SSUBSCRIBE`` ``channels`` on the connections to the shards that own them, one command per slot."""
        with self.lock:
            if self.stale and not self.closed:
                self.stale = False
                self.client.nodes_manager.initialize()
            for node, slot_channels in self._by_slot(channels):
                self._pubsub(node.name, node).ssubscribe(*slot_channels)
                self._start_reading(node.name)

    def sunsubscribe(self, *channels):
        """``SUNSUBSCRIBE`` ``channels`` on their shards' connections (the readers keep reading them)."""
        with self.lock:
            for node, slot_channels in self._by_slot(channels):
                self._pubsub(node.name, node).sunsubscribe(*slot_channels)

    def slots_moved(self):
        """Redis ended a wanted subscription (its slot moved): the next :meth:`ssubscribe` reads the slots anew."""
        self.stale = True

    def _by_slot(self, channels):
        if self.closed:
            return []
        slots = {}
        for channel in channels:
            slots.setdefault(self.client.keyslot(channel), []).append(channel)
        return [(self.client.get_node_from_key(names[0]), names) for names in slots.values()]

    def _pubsub(self, name, node):
        pubsub = self.pubsubs.get(name)
        if pubsub is None:
            pubsub = self.pubsubs[name] = node.redis_connection.pubsub()
        return pubsub

    def _start_reading(self, name):
        if name not in self.reading:
            self.reading.add(name)
            self.spawn(self._read, self.pubsubs[name], self.pubsubs[name].connection)

    def _read(self, pubsub, connection):
        # The connection itself, not pubsub.listen(): listen() returns once a
        # shard's last channel is unsubscribed (a later SSUBSCRIBE there would
        # go unread), and redis-py's retries would connect and subscribe again
        # behind a listener that close() ended.
        try:
            while not self.closed:
                message = pubsub.handle_message(connection.read_response(disconnect_on_error=False, push_request=True))
                if message is not None:
                    self.queue.put(message)
        except Exception as exc:
            if not self.closed:
                self.queue.put(exc)

    def listen(self):
        """Yield the messages of every connection; raise the first error of any."""
        try:
            while not self.closed:
                message = self.queue.get()
                if isinstance(message, Exception):
                    raise message
                if message is not None:
                    yield message
        finally:
            self.close()

    def close(self):
        """Close every connection, not to be connected again: the readers end, and :meth:`listen` with them."""
        with self.lock:
            if self.closed:
                return
            self.closed = True
            self.queue.put(None)
            for pubsub in self.pubsubs.values():
                pubsub.close()

