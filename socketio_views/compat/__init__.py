"""
Run an ``events.py`` written for django-socketio on socketio_views, with its imports changed.

Example usage, in an app's ``events.py``::

    from socketio_views.compat import events

    @events.on_message(channel="^room-")
    def message(request, socket, context, message):
        socket.send_and_broadcast_channel(message)

and in ``urls.py``, the one line that serves every app's ``events.py``::

    path("socket.io/", include("socketio_views.compat.urls")),

To serve some channels with views of your own on the same endpoint,
:func:`register` the compat handlers last on your router.

Each django-socketio channel is a channel here (the browser subscribes to
``room-1`` with ``io("/room-1")``); the channel-less socket of
django-socketio is the root namespace ``io("/")``. See
``docs/django-socketio.rst`` for every name and what changes.
"""
from . import events
from .utils import NoSocket, broadcast, broadcast_channel, send
from .views import EventsChannel, register

__all__ = ["EventsChannel", "NoSocket", "broadcast", "broadcast_channel", "events", "register", "send"]
