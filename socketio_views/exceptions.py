"""
Errors that reach the client.

Every refusal is a :class:`ChannelError` with a human ``message`` and a
machine-readable ``code``. A refused subscription reaches a Socket.IO client as
``connect_error``; a refused or failed event as an ``error`` event (and as the
acknowledgement, when the client asked for one).
"""
from django.core.exceptions import PermissionDenied


class ChannelError(Exception):
    """Base class of the errors a channel reports to its client.

    Raise it (or a subclass) from a handler to refuse an event with your own
    message and code::

        raise ChannelError("The room is full.", code="room_full")
    """

    default_message = "The request could not be processed."
    default_code = "error"

    def __init__(self, message=None, code=None, **extra):
        self.message = str(message) if message is not None else self.default_message
        self.code = code or self.default_code
        self.extra = extra
        super().__init__(self.message)

    def as_dict(self):
        """The error as the JSON object clients receive (in ``connect_error``, an HTTP refusal's body)."""
        return {"message": self.message, "code": self.code, **self.extra}

    def as_event(self, event=None):
        """The payload of the ``error`` event that reports this error: :meth:`as_dict` and the ``event`` refused (or ``None``)."""
        return {**self.as_dict(), "event": event}

    def __repr__(self):
        return f"{type(self).__name__}({self.message!r}, code={self.code!r})"


class SubscriptionRefused(ChannelError):
    """A subscription was refused; the client gets ``connect_error``."""

    default_message = "Subscription refused."
    default_code = "refused"


class ChannelNotFound(SubscriptionRefused):
    """No registered pattern matches the channel."""

    default_message = "No channel matches this name."
    default_code = "channel_not_found"


class TooManySubscriptions(SubscriptionRefused):
    """The connection already holds ``MAX_SUBSCRIPTIONS`` subscriptions."""

    default_message = "Too many subscriptions on this connection."
    default_code = "too_many_subscriptions"


class SlowConsumer(ChannelError):
    """The connection did not read what was sent to it fast enough; it is closed (and may reconnect).

    Sent as an ``error`` event on the channel whose message did not fit in the
    connection's queue (``MAX_QUEUED_BYTES``, ``MAX_QUEUED_MESSAGES``), just
    before its transport closes.
    """

    default_message = "This connection reads too slowly for what it is sent; reconnect."
    default_code = "slow_consumer"


class EventRefused(ChannelError):
    """An event was not delivered to a handler."""

    default_message = "The event was refused."
    default_code = "refused"


class UnknownEvent(EventRefused):
    """The client emitted an event the view has no handler for."""

    default_message = "This channel does not handle that event."
    default_code = "unknown_event"


class InvalidPayload(EventRefused):
    """The event's payload does not have the expected shape."""

    default_message = "Invalid payload."
    default_code = "invalid"


class RateLimited(EventRefused):
    """The subscription sent events faster than its ``rate_limit`` allows.

    ``retry_after`` (seconds, also in the payload) says when to try again.
    """

    default_message = "Too many events; slow down."
    default_code = "rate_limited"

    def __init__(self, message=None, code=None, retry_after=None, **extra):
        self.retry_after = retry_after
        if retry_after is not None:
            extra["retry_after"] = retry_after
        super().__init__(message, code, **extra)


class TooManyAttachments(EventRefused):
    """A binary event announced more than ``MAX_ATTACHMENTS`` attachments.

    It is refused from the packet's header, before any attachment is kept:
    the subscription gets the ``error`` event (and the ack, if asked for),
    then the connection is closed.
    """

    default_message = "Too many binary attachments."
    default_code = "too_many_attachments"


class TooManyPendingAcks(ChannelError):
    """The server asked the connection for ``MAX_PENDING_ACKS`` acknowledgements that have not arrived.

    A send with a ``callback`` past the limit is not sent: the subscription
    that sent it gets the ``error`` event, then the connection is closed.
    """

    default_message = "Too many acknowledgements pending."
    default_code = "too_many_pending_acks"


class OriginNotAllowed(SubscriptionRefused):
    """The connection came from a web page whose origin the settings do not allow."""

    default_message = "This origin is not allowed to connect."
    default_code = "origin_not_allowed"


class NotSubscribed(EventRefused):
    """An event arrived for a channel the connection is not subscribed to.

    Official clients never do this (they queue events until subscribed); the
    refusal arrives as ``connect_error`` on that channel.
    """

    default_message = "Not subscribed to this channel."
    default_code = "not_subscribed"


class LoginRequired(SubscriptionRefused):
    """An access mixin refused an anonymous user (see :meth:`~socketio_views.mixins.AccessMixin.handle_no_permission`)."""

    default_message = "Log in to subscribe to this channel."
    default_code = "login_required"


class PermissionRefused(ChannelError):
    """The user may not do this: an access mixin refused an authenticated user,
    or a subscription or handler raised Django's ``PermissionDenied``."""

    default_message = "Permission denied."
    default_code = "permission_denied"


class JsonpRefused(ChannelError):
    """An Engine.IO request asked for JSONP polling, which would let other sites open sessions.

    It is answered with HTTP 400 and this error as its JSON body.
    """

    default_message = "JSONP polling is not supported."
    default_code = "jsonp_refused"


class WebSocketUnsupported(ChannelError):
    """The server in front of the endpoint cannot serve WebSockets, so the request is refused.

    A WebSocket request that reached the endpoint without being upgraded
    (a WSGI server without gevent-websocket's handler, or a proxy that drops
    the ``Upgrade`` header), and every Engine.IO request of a process that
    gevent did not patch (Django's ``runserver``: long-polling there breaks
    in gevent's threads), are answered with HTTP 400 and this error as their
    JSON body; the message says which servers to run instead.
    """

    default_message = (
        "This server cannot serve WebSocket connections. Serve the project with "
        "`manage.py runserver_socketio` in development, or with gunicorn's "
        "socketio_views.workers.GeventWebSocketWorker worker in production."
    )
    default_code = "websocket_unsupported"


class MessageTooLarge(ChannelError):
    """A message (a WebSocket message or a long-polling request) is larger than ``MAX_MESSAGE_SIZE``.

    It is refused from its frame header, before its payload is read: the
    WebSocket closes with code 1009 and this error's JSON as the close
    reason. An oversize long-polling request gets HTTP 400.
    """

    default_message = "The message is too large."
    default_code = "message_too_large"


class TooManyConnections(ChannelError):
    """The client's address already holds ``MAX_CONNECTIONS_PER_IP`` connections to this process.

    The handshake is refused: long-polling gets HTTP 429 with this error as
    its JSON body; a WebSocket, which gevent-websocket has accepted before
    Django sees it, opens, each of its subscriptions is refused with this
    error, and it closes a second later.
    """

    default_message = "Too many connections from this address."
    default_code = "too_many_connections"


class TooManyHandshakes(ChannelError):
    """The client's address opened connections faster than ``HANDSHAKE_RATE``.

    Refused as :exc:`TooManyConnections` is, with ``retry_after`` (seconds,
    also in the payload and, over long-polling, the ``Retry-After`` header).
    """

    default_message = "Too many new connections from this address; retry later."
    default_code = "too_many_handshakes"

    def __init__(self, message=None, code=None, retry_after=None, **extra):
        self.retry_after = retry_after
        if retry_after is not None:
            extra["retry_after"] = retry_after
        super().__init__(message, code, **extra)


class LoggedOut(ChannelError):
    """The Django session or the user that a subscription was opened with has ended.

    Sent as an ``error`` event on each of the connection's subscriptions just
    before the server ends them, when their user logs out (``user_logged_out``,
    or the session is deleted or flushed) or :func:`~socketio_views.disconnect_user`
    ends the user's subscriptions. The connection stays open, anonymous from
    then on: subscribing again as that user needs a new connection with a
    valid session.
    """

    default_message = "The session of this connection has ended; log in again."
    default_code = "logged_out"


class AccessRevoked(ChannelError):
    """A subscription's access checks, run again, no longer let its user in.

    When a user is saved (deactivated, or no longer staff or superuser), is
    deleted, or loses a permission or a group, every subscription of that
    user, in every process, runs its access checks again
    (:meth:`~socketio_views.views.ChannelView.check_access`) with the user
    read afresh; each that fails gets this error as an ``error`` event, then
    ends. A user who can no longer log in (``is_active = False``) loses every
    subscription, and the connection is anonymous from then on. See
    :mod:`socketio_views.revocation`.
    """

    default_message = "Your access to this channel has been revoked."
    default_code = "access_revoked"


class SessionMismatch(ChannelError):
    """A request for an existing Engine.IO session did not come from the client that opened it.

    Its Django session cookie (or the lack of one), or its ``Origin``, is not
    the one of the session's handshake: long-polling gets HTTP 403 with this
    error as its JSON body, a WebSocket upgrade is closed with code 1008 and
    the JSON as its reason. The session itself is not touched.
    """

    default_message = "This session was opened by another client; open a connection of your own."
    default_code = "session_mismatch"


class ServerDraining(ChannelError):
    """The process is draining (shutting down, or reloading): it accepts no new connection.

    A long-polling handshake gets HTTP 503 with a ``Retry-After`` header; a
    WebSocket handshake is closed with code 1013 (try again later). The
    official clients retry with their reconnection backoff, and a load balancer
    whose health check has seen :func:`socketio_views.drain.health_check`
    fail sends them to another process.
    """

    default_message = "This server is shutting down; connect again (to another server)."
    default_code = "server_draining"


class ServerBusy(ChannelError):
    """The process is already working on ``MAX_HANDSHAKES_IN_PROGRESS`` handshakes: it accepts no new connection for now.

    Answered as :exc:`ServerDraining` is (HTTP 503 with ``Retry-After: 1``,
    or a WebSocket closed with code 1013), before any Django code runs for
    the request, so that a crowd of handshakes cannot starve the
    connections already open.
    """

    default_message = "This server is busy accepting other connections; connect again in a moment."
    default_code = "server_busy"


class ServerError(ChannelError):
    """A handler raised an unexpected exception; details stay in the server log."""

    default_message = "Internal server error."
    default_code = "server_error"


def to_channel_error(exc):
    """Convert an exception raised by user code into a :class:`ChannelError`.

    ``PermissionDenied`` becomes :class:`PermissionRefused` with its message;
    anything else that is not a :class:`ChannelError` becomes :class:`ServerError`.
    """
    if isinstance(exc, ChannelError):
        return exc
    if isinstance(exc, PermissionDenied):
        return PermissionRefused(str(exc) or None)
    return ServerError()
