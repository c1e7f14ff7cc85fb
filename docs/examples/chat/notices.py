"""docs/routing.rst: a channel name from reverse(), for socketio_views.broadcast()."""
import socketio_views

from .routing import router


def closing_soon(room):
    """Tell the subscribers of ``room`` (an object with a ``slug``) that it closes soon."""
    # [reverse-broadcast]
    channel = router.reverse("room", room=room.slug)
    socketio_views.broadcast(channel, {"text": "Closing soon"})
    # [/reverse-broadcast]
