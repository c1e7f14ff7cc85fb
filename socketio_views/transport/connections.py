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
        #: The key its client address is limited under (``None``: not limited).
        self.limit_key = None
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
        """Hold subscription ``view``, whose place in the address's budget :meth:`Connections.reserve_subscription` reserved."""
        self.subscriptions[view.sid] = view

    def unsubscribed(self, sid):
        """Forget subscription ``sid`` and the acknowledgements it owed (python-socketio drops their callbacks).

        Returns whether it was held.
        """
        self.pending_acks -= self.acks.pop(sid, 0)
        return self.subscriptions.pop(sid, None) is not None

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
        connection.limit_key = self.addresses.key_of(connection_id)
        return connection

    def reserve_subscription(self, connection):
        """Reserve a place for a new subscription of ``connection`` in its address's budget (``MAX_SUBSCRIPTIONS_PER_IP``).

        Returns ``None``, or the :exc:`~socketio_views.exceptions.TooManySubscriptions`
        refusing it. A reserved place is given back by :meth:`unsubscribed`,
        by :meth:`close`, or by :meth:`release_subscription` if the subscription
        is not made.
        """
        return self.addresses.reserve_subscription(connection.limit_key)

    def release_subscription(self, connection):
        """Give back a place that :meth:`reserve_subscription` reserved for a subscription that was not made."""
        self.addresses.release_subscriptions(connection.limit_key)

    def unsubscribed(self, connection, sid):
        """Subscription ``sid`` of ``connection`` ended: forget it, and give its place in the address's budget back."""
        if connection.unsubscribed(sid) and not connection.closed:
            self.release_subscription(connection)

    def close(self, connection_id):
        """Release everything connection ``connection_id`` held; return it (``None`` if it was not open)."""
        connection = self._by_id.pop(connection_id, None)
        if connection is not None:
            self.addresses.release_subscriptions(connection.limit_key, len(connection.subscriptions))
        self.addresses.closed(connection_id)
        if connection is not None:
            connection.closed = True
            connection.gate = connection.replayed = None
            connection.confirming.clear()
            connection.subscribing.clear()
            # The request holds the environ that holds it: without this, every
            # closed connection's request, session and environ would wait for
            # a full garbage collection.
            connection.environ.pop(REQUEST_KEY, None)
        return connection

    def __iter__(self):
        return iter(list(self._by_id.values()))

    def __len__(self):
        return len(self._by_id)
