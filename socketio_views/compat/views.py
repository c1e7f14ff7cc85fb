"""
:class:`EventsChannel`: the :class:`~socketio_views.ChannelView` that serves every
channel with the handlers registered in :mod:`socketio_views.compat.events`.
"""
import engineio

from ..views import ChannelView
from . import events
from .sockets import Connection, Socket, connections

#: Disconnection reasons meaning the client went away (they run ``on_disconnect``).
CLIENT_REASONS = frozenset(
    {
        engineio.Server.reason.CLIENT_DISCONNECT,
        engineio.Server.reason.PING_TIMEOUT,
        engineio.Server.reason.TRANSPORT_CLOSE,
        engineio.Server.reason.TRANSPORT_ERROR,
    }
)


class EventsChannel(ChannelView):
    """One subscription served by django-socketio style handlers.

    * The connection's first subscription runs ``on_connect``; subscribing
      to a channel (any but the root namespace) runs ``on_subscribe``.
    * The client event ``message`` runs ``on_message``; nothing is
      acknowledged (the acknowledgement is ``null``).
    * When the subscription ends: ``on_disconnect`` if the client went away,
      then ``on_unsubscribe`` (channels only), then ``on_finish``.
    * A handler that raises runs ``on_error``; the client then receives the
      ``server_error`` of any failing handler. The subscription stays.

    Subclass it to add socketio_views features (mixins, history) and
    register the subclass instead (see ``socketio_views.compat.urls``).
    """

    def on_subscribe(self):
        connection = connections.get(self.connection_id)
        first = connection is None
        if first:
            connection = connections[self.connection_id] = Connection(self.connection_id)
        connection.views[self.channel] = self
        self.socket = Socket(self, connection)
        try:
            if first:
                self._run(events.on_connect)
            if self.channel:
                self._run(events.on_subscribe, self.channel)
        except BaseException:
            self._forget()
            raise

    def on_message(self, data):
        self._run(events.on_message, data)

    def on_disconnect(self):
        try:
            if self.disconnect_reason in CLIENT_REASONS:
                self._run(events.on_disconnect)
            if self.channel:
                self._run(events.on_unsubscribe, self.channel)
            self._run(events.on_finish)
        finally:
            self._forget()

    @property
    def context(self):
        """The connection's ``context`` dict, shared by its subscriptions in this process."""
        return self.socket.connection.context

    def _run(self, event, *args):
        try:
            event.send(self.request, self.socket, self.context, *args)
        except Exception as exc:
            if event is not events.on_error:
                events.on_error.send(self.request, self.socket, self.context, exc)
            raise

    def _forget(self):
        connection = self.socket.connection
        if connection.views.get(self.channel) is self:
            del connection.views[self.channel]
        if not connection.views and connections.get(connection.connection_id) is connection:
            del connections[connection.connection_id]
