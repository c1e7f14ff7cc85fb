"""Send to channels from anywhere in Django: a view, a management command, a shell."""


def broadcast(channel, data, event="message", *, skip_sid=None):
    """Send ``event`` with ``data`` to every subscriber of ``channel``.

    Example usage::

        import socketio_views
        socketio_views.broadcast("rooms/lobby", {"user": "system", "text": "Hello"})

    Without a scale-out backend this reaches the clients connected to this
    process only.
    """
    from .server import get_server, namespace_for

    get_server().emit(event, data, namespace=namespace_for(channel), skip_sid=skip_sid)


def send(sid, data, event="message", *, channel=None):
    """Send ``event`` with ``data`` to the one subscription ``sid`` (a view's ``self.sid``).

    ``channel`` may be omitted in the process that holds the subscription.
    """
    from .server import get_server, namespace_for

    server = get_server()
    if channel is None:
        view = server.views.get(sid)
        if view is None:
            raise LookupError(f"No subscription {sid!r} in this process; pass channel= to name its channel.")
        channel = view.channel
    server.emit(event, data, namespace=namespace_for(channel), to=sid)
