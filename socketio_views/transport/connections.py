"""
One record per connection: who opened it, what it holds, what it owes, and one ``close()`` that releases it all.

A connection is one Engine.IO session (its id is ``connection_id`` in logs,
signals and metrics); each of its subscriptions is a Socket.IO namespace
with an ``sid`` of its own.

Example usage::

    connection = server.connections.get(connection_id)
    connection.identity, len(connection.subscriptions), connection.pending_acks
"""
from ..clients import AddressLimits
from ..identity import Identity
from .environ import REQUEST_KEY


class Connection:
    """What this process knows of one open connection.

    :param id: the Engine.IO session id (``connection_id``).
    :param environ: the WSGI environ of its handshake.
    """

    def __init__(self, id, environ):
        self.id = id
        self.environ = environ
        #: Who opened it (:class:`~socketio_views.identity.Identity`).
        self.identity = Identity.of(environ)
        #: Its live subscriptions: sid -> :class:`~socketio_views.views.ChannelView`.
        self.subscriptions = {}
        #: Acknowledgements it owes, in all (``MAX_PENDING_ACKS``), and per subscription sid.
        self.pending_acks = 0
        self.acks = {}
        #: namespace -> the view whose confirmation is about to be sent (channels with history).
        self.confirming = {}
        #: namespace -> live packets held while that subscription is decided.
        self.subscribing = {}
        #: The :class:`~socketio_views.transport.replay.Gate` holding live packets while history is replayed.
        self.gate = None
        #: The gate of its last replay, while broadcasts it replayed may still arrive live.
        self.replayed = None
        self.closed = False

    @property
    def request(self):
        """The Django request of its handshake."""
        return self.environ.get(REQUEST_KEY)

    def owe_ack(self, sid):
        """Count an acknowledgement subscription ``sid`` owes."""
        self.pending_acks += 1
        self.acks[sid] = self.acks.get(sid, 0) + 1

    def acknowledged(self, sid):
        """Subscription ``sid`` paid one acknowledgement back."""
        owed = self.acks.get(sid, 0)
        if owed:
            self.pending_acks -= 1
            if owed > 1:
                self.acks[sid] = owed - 1
            else:
                del self.acks[sid]

    def subscribed(self, view):
        self.subscriptions[view.sid] = view

    def unsubscribed(self, sid):
        """Forget subscription ``sid`` and the acknowledgements it owed (python-socketio drops their callbacks)."""
        self.subscriptions.pop(sid, None)
        self.pending_acks -= self.acks.pop(sid, 0)

    def __repr__(self):
        return f"<Connection {self.id} {len(self.subscriptions)} subscription(s)>"


class Connections:
    """The open connections of this process, and the per-address counts they hold.

    ``get(connection_id)`` returns the open :class:`Connection`, or ``None``.
    """

    def __init__(self):
        self._by_id = {}
        #: Connections per client address (``MAX_CONNECTIONS_PER_IP``, ``HANDSHAKE_RATE``).
        self.addresses = AddressLimits()
        # Looked up for every packet sent: the dict's own method, not one more call.
        self.get = self._by_id.get

    def open(self, connection_id, environ):
        """Record a connection that just opened; return its :class:`Connection`."""
        connection = self._by_id[connection_id] = Connection(connection_id, environ)
        self.addresses.opened(connection_id, environ)
        return connection

    def close(self, connection_id):
        """Release everything connection ``connection_id`` held; return it (``None`` if it was not open)."""
        connection = self._by_id.pop(connection_id, None)
        self.addresses.closed(connection_id)
        if connection is not None:
            connection.closed = True
            connection.gate = connection.replayed = None
            connection.confirming.clear()
            connection.subscribing.clear()
        return connection

    def __iter__(self):
        return iter(list(self._by_id.values()))

    def __len__(self):
        return len(self._by_id)
