"""
The ``socket`` that django-socketio handlers receive, over one subscription of socketio_views.

A connection's compat subscriptions, its ``context`` and its ``socket.session``
live in this process (as django-socketio's did), in :data:`connections`.
"""
import attrs

from ..api import broadcast as broadcast_to_channel

#: The channel of the root namespace ``"/"``: django-socketio's socket before it subscribes.
ROOT = ""


@attrs.frozen
class Session:
    """``socket.session``: ``session_id`` is the connection's id (a view's ``connection_id``, 20 characters)."""

    session_id: str


@attrs.define(eq=False)
class Connection:
    """One client connection's compat subscriptions (``{channel: EventsChannel}``) and its ``context`` dict."""

    connection_id: str
    views: dict = attrs.field(factory=dict)
    context: dict = attrs.field(factory=dict)


#: The connections with at least one compat subscription in this process: ``{connection_id: Connection}``.
connections = {}


class Socket:
    """django-socketio's socket, for a handler running on one subscription (``channel``; ``""``: the root namespace).

    ``send()`` reaches the client on this subscription; ``broadcast()``
    reaches every other connection on the root namespace;
    ``broadcast_channel()`` reaches every other subscriber of a channel.
    Every message is the ``message`` event.
    """

    def __init__(self, view, connection):
        self.view = view
        self.connection = connection
        self.session = Session(connection.connection_id)

    @property
    def channel(self):
        """The channel this socket's handler runs for (``""``: the root namespace)."""
        return self.view.channel

    @property
    def channels(self):
        """The channels the connection is subscribed to in this process (the root namespace is not one)."""
        return [channel for channel in self.connection.views if channel != ROOT]

    def send(self, message):
        """Send ``message`` to this client, on this subscription."""
        self.view.send(message)

    def broadcast(self, message):
        """Send ``message`` to every other connection subscribed to the root namespace, in every process."""
        self._broadcast(ROOT, message)

    def send_and_broadcast(self, message):
        """:meth:`send` and :meth:`broadcast` ``message``."""
        self.send(message)
        self.broadcast(message)

    def broadcast_channel(self, message, channel=None):
        """Send ``message`` to every other subscriber of ``channel`` (default: of each of :attr:`channels`)."""
        for name in self.channels if channel is None else [channel]:
            self._broadcast(name, message)

    def send_and_broadcast_channel(self, message, channel=None):
        """:meth:`send` and :meth:`broadcast_channel` ``message``."""
        self.send(message)
        self.broadcast_channel(message, channel)

    def _broadcast(self, channel, message):
        own = self.connection.views.get(channel)
        if own is not None:
            # Sent through the subscription, so that what on_subscribe
            # sends waits for the client's confirmation, as its send() does.
            own.broadcast(message, include_self=False)
        else:
            broadcast_to_channel(channel, message)

    def __repr__(self):
        return f"<Socket {self.session.session_id} channel={self.channel!r}>"
