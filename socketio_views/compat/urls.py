"""
Serve django-socketio style ``events.py`` modules: include this module at the Socket.IO path.

Example usage, in the project's ``urls.py``::

    path("socket.io/", include("socketio_views.compat.urls")),

Importing it imports the ``events`` module of every installed app (as
django-socketio's ``urls.py`` did), so that their handlers are registered;
an ``events`` module that fails to import raises, instead of being skipped.
"""
from django.utils.module_loading import autodiscover_modules

from ..routers import ChannelRouter
from .views import EventsChannel

#: Matches every channel name, the root namespace's ``""`` included.
EVERY_CHANNEL = r"^.*$"

autodiscover_modules("events")

#: The router of the compat layer: every channel is served by :class:`~socketio_views.compat.views.EventsChannel`.
router = ChannelRouter()
router.register(EVERY_CHANNEL, EventsChannel, name="events", regex=True)

urlpatterns = router.urls
