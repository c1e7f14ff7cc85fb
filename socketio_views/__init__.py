"""
socketio_views: class-based real-time channels for Django over Socket.IO.

Example usage::

    from socketio_views import ChannelRouter, ChannelView

    class RoomChannel(ChannelView):
        def on_message(self, data, room):
            self.broadcast(data)
            return {"ok": True}

    router = ChannelRouter()
    router.register("rooms/<slug:room>", RoomChannel)
"""
from .api import broadcast, send
from .exceptions import ChannelError, SubscriptionRefused
from .routers import ChannelRouter
from .views import ChannelView

__version__ = "0.1.0"

__all__ = ["ChannelError", "ChannelRouter", "ChannelView", "SubscriptionRefused", "broadcast", "send"]
