"""
Server-to-client acknowledgements: the rules of ``send(..., callback=...)``.

* A callback needs one recipient: ``send()``, never ``broadcast()``
  (:func:`require_recipient`, which :meth:`socketio_views.sending.Hub.emit`
  applies: ``ValueError``).
* A callback that raises is logged with its view, where the client's
  acknowledgement arrives (:func:`guarded`); nothing reaches the client.
* A connection may owe at most ``MAX_PENDING_ACKS`` acknowledgements; past
  that it gets the ``too_many_pending_acks`` error and is closed, and the
  send over the limit is not sent.
* An acknowledgement pays one back; a subscription that ends forgets what it
  owed (python-socketio drops its callbacks), and a closed connection owes
  nothing. Owing or paying never touches any other count of the connection.

Example usage, in a view::

    def on_subscribe(self, room):
        self.send({"question": "ready?"}, event="ask", callback=self.on_answer)
"""
from ..conf import views_settings
from ..exceptions import TooManyPendingAcks
from ..logs import logger, of_view


def require_recipient(callback, to):
    """Refuse a ``callback`` without one recipient ``to`` (a broadcast cannot be acknowledged): ``ValueError``."""
    if callback is not None and to is None:
        raise ValueError("A callback needs one recipient: pass to=<sid> (send(), not broadcast()).")


def guarded(callback, view):
    """``callback`` whose exceptions are logged with ``view``'s fields instead of raised."""

    def acknowledged(*args):
        try:
            callback(*args)
        except Exception:
            # It runs where the client's ack is received; log it there.
            logger.exception("Acknowledgement callback of %r failed", view, **of_view(view))

    return acknowledged


class Acks:
    """The acknowledgement part of :class:`~socketio_views.transport.server.ChannelServer`."""

    def emit(self, event, data=None, to=None, room=None, skip_sid=None, namespace=None, callback=None, ignore_queue=False):
        """python-socketio's ``emit()``; a ``callback`` counts against the recipient connection's ``MAX_PENDING_ACKS``."""
        if callback is not None:
            callback = self._await_ack(to or room, namespace or "/", callback)
            if callback is None:
                return
        super().emit(
            event, data, to=to, room=room, skip_sid=skip_sid, namespace=namespace, callback=callback,
            ignore_queue=ignore_queue,
        )

    def _await_ack(self, sid, namespace, callback):
        """Count an acknowledgement subscription ``sid`` will owe; return the callback that pays it back.

        Past ``MAX_PENDING_ACKS``, end that connection instead (its client
        does not acknowledge) and return ``None``: nothing is sent.
        """
        connection = self.connections.get(self.manager.eio_sid_from_sid(sid, namespace))
        if connection is None:
            return callback  # not a subscription of this process: python-socketio sends nothing
        limit = views_settings.MAX_PENDING_ACKS
        if limit is not None and connection.pending_acks >= limit:
            error = TooManyPendingAcks(
                f"{limit} messages sent to this connection await its acknowledgement (MAX_PENDING_ACKS); "
                f"acknowledge each as it arrives."
            )
            self.end_with_error(connection.id, error, sid)
            return None
        connection.owe_ack(sid)

        def acknowledged(*args):
            connection.acknowledged(sid)
            return callback(*args)

        return acknowledged
