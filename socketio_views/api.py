"""Send to channels from anywhere in Django: a view, a management command, a shell, a task."""
from django.db import transaction

from . import logout
from .hubs import get_hub


def broadcast(channel, data, event="message", *, skip_sid=None, history=True):
    """Send ``event`` with ``data`` to every subscriber of ``channel``.

    Example usage::

        import socketio_views
        socketio_views.broadcast("rooms/lobby", {"user": "system", "text": "Hello"})

    With a ``BACKEND`` this reaches subscribers in every process, from any
    process; without one, the subscribers connected to this process. The
    rules are those of a view's ``broadcast()``: reserved event names raise
    ``ValueError``, attrs instances are sent as JSON objects, and on a channel
    with history the broadcast is kept unless ``history=False``.
    """
    get_hub().emit(event, data, channel=channel, skip_sid=skip_sid, history=history)


def broadcast_on_commit(channel, data, event="message", *, skip_sid=None, history=True, using=None):
    """:func:`broadcast` once the current database transaction commits; never if it rolls back.

    Outside a transaction (autocommit) it broadcasts at once.
    """
    transaction.on_commit(lambda: broadcast(channel, data, event, skip_sid=skip_sid, history=history), using=using)


def send(sid, data, event="message", *, channel=None):
    """Send ``event`` with ``data`` to the one subscription ``sid`` (a view's ``self.sid``).

    ``channel`` may be omitted in the process that holds the subscription;
    elsewhere (another process, with a ``BACKEND``) name it.
    """
    hub = get_hub()
    if channel is None:
        channel = hub.channel_of(sid)
        if channel is None:
            raise LookupError(f"No subscription {sid!r} in this process; pass channel= to name its channel.")
    hub.emit(event, data, channel=channel, to=sid)


def disconnect_user(user):
    """End every subscription of ``user`` (a user, or its primary key), in every process, with error ``logged_out``.

    Example usage, when a user is banned or changes their password::

        import socketio_views
        socketio_views.disconnect_user(request.user)

    Each subscription gets the ``error`` event with code ``logged_out``, then
    is ended by the server; its connection stays open, anonymous from then
    on. With a ``BACKEND`` this reaches every process, from any process.
    A new connection authenticates again from its session cookie: to keep the
    user out, also end their sessions (a password change does, for the other
    sessions; ``user.is_active = False`` does, for every one).
    """
    logout.end_user(user)
