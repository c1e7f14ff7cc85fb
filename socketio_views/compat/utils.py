"""django-socketio's module-level ``send``, ``broadcast``, ``broadcast_channel`` and ``NoSocket``."""
from .. import api
from .sockets import ROOT, connections


class NoSocket(LookupError):
    """:func:`send` found no connection with that session id in this process."""


def send(session_id, message):
    """Send ``message`` to the connection ``session_id`` (a handler's ``socket.session.session_id``).

    It goes to the connection's root namespace subscription, or else to its
    first one. The connection must be served by this process (as in
    django-socketio); else :class:`NoSocket` is raised.
    """
    connection = connections.get(session_id)
    if connection is None or not connection.views:
        raise NoSocket(
            f"There is no socket with the session ID {session_id!r} in this process. To reach a user "
            f"from any process, broadcast on a channel only they subscribe to."
        )
    view = connection.views.get(ROOT) or next(iter(connection.views.values()))
    api.send(view.sid, message, channel=view.channel)


def broadcast(message):
    """Send ``message`` to every connection subscribed to the root namespace, in every process.

    Unlike django-socketio, it needs no socket in this process, and never
    raises :class:`NoSocket`: it works from views, commands and tasks.
    """
    api.broadcast(ROOT, message)


def broadcast_channel(message, channel):
    """Send ``message`` to every subscriber of ``channel``, in every process.

    Unlike django-socketio, it needs no subscriber in this process, and never
    raises :class:`NoSocket`.
    """
    api.broadcast(channel, message)
