"""
django-socketio's event decorators, served by :class:`~socketio_views.compat.views.EventsChannel`.

Example usage::

    from socketio_views.compat import events

    @events.on_message(channel="^room-")
    def message(request, socket, context, message):
        socket.send_and_broadcast_channel(message)

Which handlers run for an event on a channel:

* a handler registered with ``channel=`` runs when its regular expression
  matches the channel's name (``re.match``, as django-socketio did);
* a handler registered without ``channel=`` runs for events on the root
  namespace, the socket that has no channel (in django-socketio: a socket
  that had subscribed to nothing), except that ``on_subscribe`` and
  ``on_unsubscribe`` handlers without ``channel=`` run for every channel.
"""
import re

from django.core.exceptions import ImproperlyConfigured


class EventError(ImproperlyConfigured):
    """An event handler was registered in a way the event does not support."""


class Event:
    """A django-socketio event: a list of handlers, registered with the event as a decorator.

    ``@event`` or ``@event(channel="<regex>")``; each handler is called with
    ``(request, socket, context, *args)``.
    """

    def __init__(self, name, supports_channels=True, unfiltered_runs_everywhere=False):
        self.name = name
        self.supports_channels = supports_channels
        self.unfiltered_runs_everywhere = unfiltered_runs_everywhere
        #: ``(handler, compiled pattern or None)`` in registration order.
        self.handlers = []

    def __call__(self, handler=None, channel=None):
        """Register ``handler`` (for the channels ``channel`` matches, if given) and return it.

        Called with ``channel`` only, return a decorator.
        """
        if handler is None:
            return lambda handler: self(handler, channel)
        if not callable(handler):
            raise EventError(
                f"events.{self.name}() takes the handler function, or only channel=...: "
                f"write @events.{self.name}(channel={handler!r})."
            )
        pattern = None
        if channel:
            if not self.supports_channels:
                raise EventError(
                    f"events.{self.name} runs before any channel is subscribed, so it takes no "
                    f"channel=: remove channel={channel!r} from {handler.__name__}()'s decorator."
                )
            pattern = re.compile(channel)
        self.handlers.append((handler, pattern))
        return handler

    def handlers_for(self, channel):
        """The handlers that run for this event on ``channel`` (``""``: the root namespace)."""
        return [handler for handler, pattern in self.handlers if self._runs(pattern, channel)]

    def _runs(self, pattern, channel):
        if pattern is None:
            return channel == "" or self.unfiltered_runs_everywhere
        return channel != "" and pattern.match(channel) is not None

    def send(self, request, socket, context, *args):
        """Run the handlers for ``socket``'s channel with ``(request, socket, context, *args)``."""
        for handler in self.handlers_for(socket.channel):
            handler(request, socket, context, *args)

    def __repr__(self):
        return f"<Event {self.name}: {len(self.handlers)} handler(s)>"


#: ``(request, socket, context)``: a connection's first subscription starts (no ``channel=``).
on_connect = Event("on_connect", supports_channels=False, unfiltered_runs_everywhere=True)
#: ``(request, socket, context, message)``: the client sent a message.
on_message = Event("on_message")
#: ``(request, socket, context, channel)``: the client subscribed to a channel.
on_subscribe = Event("on_subscribe", unfiltered_runs_everywhere=True)
#: ``(request, socket, context, channel)``: a subscription ends.
on_unsubscribe = Event("on_unsubscribe", unfiltered_runs_everywhere=True)
#: ``(request, socket, context, exception)``: a handler raised ``exception``.
on_error = Event("on_error")
#: ``(request, socket, context)``: the client went away (not when the server ends the subscription).
on_disconnect = Event("on_disconnect")
#: ``(request, socket, context)``: a subscription ends, whatever the reason.
on_finish = Event("on_finish")

EVENTS = (on_connect, on_message, on_subscribe, on_unsubscribe, on_error, on_disconnect, on_finish)
