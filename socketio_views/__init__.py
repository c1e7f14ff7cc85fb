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

The names below are imported on first use, so that importing
``socketio_views.monkey`` (to patch gevent first thing) imports nothing else.
"""
from importlib import import_module

__version__ = "0.1.0"

_EXPORTS = {
    "ChannelError": "exceptions",
    "ChannelRouter": "routers",
    "ChannelView": "views",
    "SubscriptionRefused": "exceptions",
    "broadcast": "api",
    "broadcast_on_commit": "api",
    "disconnect_user": "api",
    "send": "api",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        value = getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'socketio_views' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS))
