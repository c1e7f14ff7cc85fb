"""Send to channels from anywhere in Django: a view, a management command, a shell, a task."""
from django.db import transaction

from . import server as server_module
from .backends import write_only_manager
from .conf import views_settings

# A hub that replaces the real transport, set by socketio_views.testing so that
# tests observe broadcasts made by the code under test.
_test_hub = None


def use_test_hub(hub):
    """Deliver module-level broadcasts and sends to ``hub`` (``None`` restores the real transport)."""
    global _test_hub
    _test_hub = hub


def _emit(event, data, channel, to=None, skip_sid=None):
    if _test_hub is not None:
        _test_hub.emit(event, data, channel=channel, to=to, skip_sid=skip_sid)
        return
    if server_module.server_exists() or not views_settings.BACKEND:
        emitter = server_module.get_server()
    else:
        # This process serves no sockets: publish through the backend only.
        emitter = write_only_manager()
    emitter.emit(event, data, namespace=server_module.namespace_for(channel), room=to, skip_sid=skip_sid)


def broadcast(channel, data, event="message", *, skip_sid=None):
    """Send ``event`` with ``data`` to every subscriber of ``channel``.

    Example usage::

        import socketio_views
        socketio_views.broadcast("rooms/lobby", {"user": "system", "text": "Hello"})

    With a ``BACKEND`` this reaches subscribers in every process, from any
    process; without one, the subscribers connected to this process.
    """
    _emit(event, data, channel, skip_sid=skip_sid)


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
        channel = _local_channel_of(sid)
    _emit(event, data, channel, to=sid)


def _local_channel_of(sid):
    if _test_hub is not None:
        subscription = _test_hub.subscriptions.get(sid)
    else:
        subscription = server_module.get_server().views.get(sid) if server_module.server_exists() else None
    if subscription is None:
        raise LookupError(f"No subscription {sid!r} in this process; pass channel= to name its channel.")
    return subscription.channel
