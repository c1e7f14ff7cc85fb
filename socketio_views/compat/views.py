"""
:class:`EventsChannel`: the :class:`~socketio_views.ChannelView` that serves every
channel with the handlers registered in :mod:`socketio_views.compat.events`.
"""
import engineio
from django.utils.module_loading import autodiscover_modules

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

    Subclass it to add socketio_views features (mixins, history) and pass
    the subclass to :func:`register`.
    """

    def on_subscribe(self):
        """Run ``on_connect`` (first subscription of the connection), then ``on_subscribe``."""
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
        """Run ``on_message`` with ``data``."""
        self._run(events.on_message, data)

    def on_disconnect(self):
        """Run ``on_disconnect`` (if the client went away), ``on_unsubscribe``, then ``on_finish``."""
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


#: Matches every channel name, the root namespace's ``""`` included.
EVERY_CHANNEL = r"^.*$"


def register(router, view_class=EventsChannel):
    """Serve every channel that ``router``'s patterns so far do not match with the ``events.py`` handlers.

    Imports the ``events`` module of every installed app (as django-socketio
    did; one that fails to import raises), then registers ``view_class``
    under a pattern that matches every channel name: register it after the
    patterns of your own views, which then take precedence. Example usage::

        router = ChannelRouter()
        router.register("room-<int:room_id>", ChatRoomChannel)  # ported
        compat.register(router)  # any other channel: events.py's handlers
    """
    autodiscover_modules("events")
    router.register(EVERY_CHANNEL, view_class, name="events", regex=True)
    return router
