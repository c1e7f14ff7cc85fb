"""
Serve django-socketio style ``events.py`` modules: include this module at the Socket.IO path.

Example usage, in the project's ``urls.py``::

    path("socket.io/", include("socketio_views.compat.urls")),

Importing it imports the ``events`` module of every installed app (as
django-socketio's ``urls.py`` did), so that their handlers are registered;
an ``events`` module that fails to import raises, instead of being skipped.
To serve some channels with views of your own on the same endpoint, use
:func:`socketio_views.compat.register` on your router instead.
"""
from ..routers import ChannelRouter
from .views import register

#: The router of the compat layer: every channel is served by :class:`~socketio_views.compat.views.EventsChannel`.
router = register(ChannelRouter())

urlpatterns = router.urls
