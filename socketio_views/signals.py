"""
Django signals sent at every stage of a channel's life.

Subscription signals are sent with ``sender`` the :class:`~socketio_views.ChannelView`
subclass and ``view`` the instance that serves the subscription::

    from django.dispatch import receiver
    from socketio_views.signals import subscribed

    @receiver(subscribed)
    def log_join(sender, view, **kwargs):
        print(view.channel, view.request.user)
"""
from django.dispatch import Signal

#: A client opened a Socket.IO connection. Arguments: ``connection_id``
#: (its Engine.IO session id, a view's ``connection_id``), ``request``, and
#: ``sid``, a deprecated alias of ``connection_id``. Sent with ``sender=None``.
connected = Signal()

#: A client's Socket.IO connection closed. Arguments: ``connection_id``,
#: ``reason``, and ``sid``, a deprecated alias of ``connection_id``.
disconnected = Signal()

#: A subscription was accepted. Arguments: ``view``.
subscribed = Signal()

#: A subscription was refused. Arguments: ``channel``, ``error`` (the
#: :class:`~socketio_views.exceptions.ChannelError` sent to the client), ``request``.
#: ``sender`` is the view class, or ``None`` when no pattern matched.
subscription_refused = Signal()

#: An event is about to be handled. Arguments: ``view``, ``event``, ``data``.
message_received = Signal()

#: A subscription ended (client or server unsubscribed, or the connection
#: dropped). Arguments: ``view``, ``reason``.
unsubscribed = Signal()

#: An event was refused or its handler failed. Arguments: ``view``, ``event``,
#: ``error`` (the :class:`~socketio_views.exceptions.ChannelError` sent to the
#: client) and ``exception`` (what was raised).
error = Signal()
