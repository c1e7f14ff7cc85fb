"""Send to channels from anywhere in Django: a view, a management command, a shell, a task."""
from django.db import transaction

from . import server as server_module
from .backends import write_only_manager
from .conf import views_settings


def _emitter():
    """This process's socket server, or a write-only manager when it serves no sockets."""
    if server_module.server_exists() or not views_settings.BACKEND:
        return server_module.get_server()
    return write_only_manager()


def broadcast(channel, data, event="message", *, skip_sid=None):
    """Send ``event`` with ``data`` to every subscriber of ``channel``.

    Example usage::

        import socketio_views
        socketio_views.broadcast("rooms/lobby", {"user": "system", "text": "Hello"})

    With a ``BACKEND`` this reaches subscribers in every process, from any
    process; without one, the subscribers connected to this process.
    """
    _emitter().emit(event, data, namespace=server_module.namespace_for(channel), room=None, skip_sid=skip_sid)


def broadcast_on_commit(channel, data, event="message", *, skip_sid=None, using=None):
    """:func:`broadcast` once the current database transaction commits; never if it rolls back.

    Outside a transaction (autocommit) it broadcasts at once.
    """
    transaction.on_commit(lambda: broadcast(channel, data, event, skip_sid=skip_sid), using=using)


def send(sid, data, event="message", *, channel=None):
    """Send ``event`` with ``data`` to the one subscription ``sid`` (a view's ``self.sid``).

    ``channel`` may be omitted in the process that holds the subscription;
    elsewhere (another process, with a ``BACKEND``) name it.
    """
    if channel is None:
        view = server_module.get_server().views.get(sid) if server_module.server_exists() else None
        if view is None:
            raise LookupError(f"No subscription {sid!r} in this process; pass channel= to name its channel.")
        channel = view.channel
    _emitter().emit(event, data, namespace=server_module.namespace_for(channel), room=sid)
