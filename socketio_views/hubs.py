"""
Which hub sends in this process: :func:`get_hub`.

* the socket server's hub (:class:`socketio_views.transport.server.ServerHub`)
  in a process that serves sockets, or in any process without a ``BACKEND``;
* a :class:`PublisherHub` over python-socketio's write-only manager in a
  process that only sends (a web worker, a management command, a task);
* the hub given to :func:`use_hub`, which :mod:`socketio_views.testing`
  sets during each test.

The rules of every send, and the hub interface, are in :mod:`socketio_views.sending`.

Example usage::

    from socketio_views.hubs import get_hub

    get_hub().emit("message", {"text": "hi"}, channel="rooms/lobby")
"""
from .conf import views_settings
from .identity import CONTROL_NAMESPACE, ENDED_EVENT
from .sending import Hub, packet_args
from .state import ProcessWide
from .transport.managers import write_only_manager
from .transport.server import get_server, server_exists


class PublisherHub(Hub):
    """Publishes through the backend, for a process that sends but serves no sockets."""

    def __init__(self, manager):
        self.manager = manager

    def deliver(self, event, data, *, channel, to=None, skip_sid=None, callback=None, offset=None):
        self.manager.emit(event, packet_args(data, offset), namespace="/" + channel, room=to, skip_sid=skip_sid)

    def channel_of(self, sid):
        return None

    def unsubscribe(self, channel, sid):
        raise RuntimeError("This process serves no sockets; end a subscription from its own process.")

    disconnect = unsubscribe

    def end_identity(self, *, session=None, user=None):
        self.manager.emit(ENDED_EVENT, {"session": session, "user": user}, namespace=CONTROL_NAMESPACE)

    def recheck_users(self, users):
        self.manager.emit(ENDED_EVENT, {"recheck": [str(key) for key in users]}, namespace=CONTROL_NAMESPACE)


_publisher = ProcessWide(lambda: PublisherHub(write_only_manager()))
_override = None


def use_hub(hub):
    """Send everything through ``hub`` (``None``: through the hub of this process again)."""
    global _override
    _override = hub


def get_hub():
    """The hub that sends go through in this process (see the module's docstring)."""
    if _override is not None:
        return _override
    if server_exists() or not views_settings.BACKEND:
        return get_server().hub
    return _publisher.get()
