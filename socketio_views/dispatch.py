"""
Transport-independent dispatch: subscribe, deliver an event, end a subscription.

The Socket.IO server (:mod:`socketio_views.server`) and the test client
(:mod:`socketio_views.testing`) both drive channels through these functions,
so a test exercises exactly the code that serves real clients.
"""
import logging

from . import signals
from .conf import views_settings
from .exceptions import (
    ChannelError,
    InvalidPayload,
    OriginNotAllowed,
    ServerError,
    SubscriptionRefused,
    UnknownEvent,
    to_channel_error,
)
from .origins import is_origin_allowed
from .payloads import wire
from .views import is_client_event

logger = logging.getLogger("socketio_views")


class Hub:
    """Delivers what channel views emit; each transport provides one.

    ``channel`` is a channel name such as ``"rooms/lobby"`` and ``sid`` a
    subscription's id.
    """

    def emit(self, event, data, *, channel, to=None, skip_sid=None, callback=None):
        """Send ``event`` to ``to`` (one subscription) or to every subscriber of ``channel`` but ``skip_sid``.

        ``callback``, only with ``to``, receives the client's acknowledgement.
        """
        raise NotImplementedError

    def unsubscribe(self, channel, sid):
        """End one subscription from the server side."""
        raise NotImplementedError

    def disconnect(self, channel, sid):
        """Close the connection that holds the subscription."""
        raise NotImplementedError


def subscribe(router, hub, *, channel, sid, request, auth=None, connection_id=None):
    """Resolve ``channel``, build its view and run its subscription checks.

    Returns the view, whose :meth:`~socketio_views.ChannelView.release` the
    transport calls once the client is subscribed. Raises a
    :class:`~socketio_views.exceptions.ChannelError` to refuse.
    """
    view_class = None
    try:
        origin = request.META.get("HTTP_ORIGIN")
        if not is_origin_allowed(origin):
            raise OriginNotAllowed(
                f"Origin {origin!r} is not allowed to connect. Add its host to ALLOWED_HOSTS, "
                f"the origin to CSRF_TRUSTED_ORIGINS, or set SOCKETIO_VIEWS['ALLOWED_ORIGINS']."
            )
        match = router.resolve(channel)
        view_class = match.view_class
        view = view_class(**match.initkwargs)
        view.setup(
            hub=hub,
            request=request,
            channel=channel,
            sid=sid,
            connection_id=connection_id,
            args=match.args,
            kwargs=match.kwargs,
            auth=auth,
        )
        view.subscribe()
    except Exception as exc:
        error = to_channel_error(exc, SubscriptionRefused)
        _log_error(error, f"Subscription to {channel!r}")
        signals.subscription_refused.send(
            sender=view_class, channel=channel, error=error, request=request
        )
        raise error from (None if error is exc else exc)
    logger.info("Subscribed %s to %r (%s)", sid, channel, view_class.__name__)
    signals.subscribed.send(sender=view_class, view=view)
    return view


def handle_event(view, event, args):
    """Deliver client event ``event`` with payload ``args`` to ``view``; return the acknowledgement.

    A refusal or a failure never propagates: the client receives an ``error``
    event and the acknowledgement ``{"error": {...}}``.
    """
    try:
        if not is_client_event(event):
            raise UnknownEvent(f"Event {event!r} cannot be emitted by clients.")
        if len(args) > 1:
            raise InvalidPayload(f"Event {event!r} takes one payload argument, got {len(args)}.")
        data = args[0] if args else None
        check_depth(data, views_settings.MAX_PAYLOAD_DEPTH)
        signals.message_received.send(sender=type(view), view=view, event=event, data=data)
        ack = view.dispatch(event, data)
        if ack is not None and not isinstance(ack, (str, int, float, bool, bytes)):
            wire(ack)  # a handler bug must not reach the encoder, which would close the connection
        return ack
    except Exception as exc:
        return report_event_error(view, event, exc)


def check_depth(data, limit):
    """Raise :class:`~socketio_views.exceptions.InvalidPayload` if ``data`` nests deeper than ``limit``."""
    pending = [(data, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, dict):
            value = value.values()
        elif not isinstance(value, list):
            continue
        if depth > limit:
            raise InvalidPayload(f"The payload nests deeper than {limit} levels.")
        pending.extend((item, depth + 1) for item in value if isinstance(item, (dict, list)))


def report_event_error(view, event, exc):
    """Log ``exc``, send the ``error`` signal and event, and return the error acknowledgement."""
    error = to_channel_error(exc)
    _log_error(error, f"Event {event!r} on {view.channel!r}")
    payload = {**error.as_dict(), "event": event if isinstance(event, str) else None}
    try:
        signals.error.send(sender=type(view), view=view, event=event, error=error, exception=exc)
        view.hub.emit("error", payload, channel=view.channel, to=view.sid)
    except Exception:
        logger.exception("Could not report an error to %s on %r", view.sid, view.channel)
    return {"error": payload}


def end_subscription(view, reason=None):
    """Run the view's teardown and send ``unsubscribed``, whatever fails on the way."""
    try:
        view.teardown(reason)
    except Exception:
        logger.exception("on_disconnect of %r failed", view)
    finally:
        logger.info("Unsubscribed %s from %r (%s)", view.sid, view.channel, reason)
        try:
            signals.unsubscribed.send(sender=type(view), view=view, reason=reason)
        except Exception:
            logger.exception("An unsubscribed receiver failed for %r", view)


def _log_error(error, context):
    if isinstance(error, ServerError):
        logger.exception("%s failed", context)
    elif isinstance(error, ChannelError):
        logger.info("%s refused: %s (%s)", context, error.message, error.code)
