"""
Transport-independent dispatch: start a subscription, deliver an event, end a subscription.

The Socket.IO server (:mod:`socketio_views.transport.server`) and the test client
(:mod:`socketio_views.testing`) both drive channels through these functions,
so a test exercises exactly the code that serves real clients.
"""
import logging
import time

from . import metrics, payloads, recovery, signals
from .history import get_history, remember_policy
from .conf import views_settings
from .exceptions import (
    ChannelError,
    InvalidPayload,
    OriginNotAllowed,
    ServerError,
    TooManySubscriptions,
    UnknownEvent,
    to_channel_error,
)
from .sending import Outbox
from .logs import event_field, log_per_burst, logger, of_view
from .origins import is_origin_allowed
from .payloads import wire
from .views import handled_events, is_client_event


def start_subscription(router, hub, *, channel, sid, request, auth=None, connection_id=None, open_subscriptions=0):
    """Resolve ``channel``, build its view and run its subscription checks.

    Returns the view. Its ``hub`` is an :class:`~socketio_views.sending.Outbox`
    that holds what it sent until the transport, once the client is
    subscribed, calls its ``release()``. Raises a
    :class:`~socketio_views.exceptions.ChannelError` to refuse.
    ``open_subscriptions`` is how many the connection already holds.
    """
    view_class = match = None
    meter = metrics.get_meter()
    try:
        origin = request.META.get("HTTP_ORIGIN")
        if not is_origin_allowed(request):
            raise OriginNotAllowed(
                f"Origin {origin!r} is not allowed to connect. Serve the page from this host, scheme and port, "
                f"add the origin to CSRF_TRUSTED_ORIGINS, or set SOCKETIO_VIEWS['ALLOWED_ORIGINS']."
            )
        limit = views_settings.MAX_SUBSCRIPTIONS
        if limit is not None and open_subscriptions >= limit:
            raise TooManySubscriptions(
                f"This connection already holds {limit} subscriptions (MAX_SUBSCRIPTIONS); "
                f"unsubscribe from one first."
            )
        if auth is not None and not isinstance(auth, dict):
            raise InvalidPayload("The auth of a subscription must be a JSON object.")
        match = router.resolve(channel)
        view_class = match.view_class
        view = view_class(**match.initkwargs)
        auth, claim = recovery.claim_of(auth)
        outbox = Outbox(hub)
        outbox.meter = meter.route(match.route)
        outbox.view_class = view_class
        view.setup(
            hub=outbox,
            request=request,
            channel=channel,
            sid=sid,
            connection_id=connection_id,
            args=match.args,
            kwargs=match.kwargs,
            auth=auth,
        )
        outbox.policy = view.get_history_policy()
        if outbox.policy is not None:
            _prepare_recovery(view, outbox, claim)
        view.subscribe()
    except Exception as exc:
        error = to_channel_error(exc)
        _log_error(
            error, f"Subscription to {channel!r}", route=match and match.route,
            connection_id=connection_id, sid=sid, channel=channel,
        )
        signals.subscription_refused.send(
            sender=view_class, channel=channel, error=error, request=request
        )
        try:
            raise error from (None if error is exc else exc)
        finally:
            # This frame holds the error, whose traceback holds this frame: a
            # cycle that would keep the request and the channel name alive
            # until a full garbage collection (100 KB per refused long name).
            del error
    # Remembered once accepted only: a refused name costs nothing that stays.
    remember_policy(channel, outbox.policy)
    logger.info("Subscribed %s to %r (%s)", sid, channel, view_class.__name__, **of_view(view))
    if outbox.policy is not None:
        if view.recovered or view.recovery_failure is not None:
            meter.recovery(match.route, "recovered" if view.recovered else view.recovery_failure)
        recovery.open_session(view, outbox, outbox.policy)
    _run_hook(view, view.after_subscribe)
    signals.subscribed.send(sender=view_class, view=view)
    return view


def handle_event(view, event, args):
    """Deliver client event ``event`` with payload ``args`` to ``view``; return the acknowledgement.

    The server and the test client both send the client exactly what this
    returns. A refusal or a failure never propagates: the client receives an
    ``error`` event and the acknowledgement ``{"error": {...}}``.
    """
    meter = getattr(view.hub, "meter", metrics.NULL_ROUTE)
    handled = event in handled_events(type(view))
    meter.received(event if handled else metrics.OTHER_EVENT)
    try:
        if not is_client_event(event):
            raise UnknownEvent(f"Event {event!r} cannot be emitted by clients.")
        if len(args) > 1:
            raise InvalidPayload(f"Event {event!r} takes one payload argument, got {len(args)}.")
        data = args[0] if args else None
        check_depth(data, views_settings.MAX_PAYLOAD_DEPTH)
        signals.message_received.send(sender=type(view), view=view, event=event, data=data)
        if handled and meter.enabled:
            started = time.perf_counter()
            try:
                value = view.dispatch(event, data)
            finally:
                meter.handled(event, time.perf_counter() - started)
        else:
            value = view.dispatch(event, data)
        # Converted here, not by the encoder, so that a handler bug (a value
        # JSON cannot carry) is an error ack instead of a closed connection.
        return acknowledgement(value, view.payload_converter)
    except Exception as exc:
        return report_event_error(view, event, exc)


def acknowledgement(value, converter=payloads.converter):
    """Return a handler's return value as the client receives it: the acknowledgement.

    attrs instances are unstructured with ``converter``, then the value makes
    the JSON round trip of :func:`~socketio_views.payloads.wire`; ``TypeError``
    if JSON cannot carry it.
    """
    return wire(payloads.unstructure(value, converter))


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
    fields = of_view(view, event=event_field(event))
    route = getattr(view.hub, "meter", metrics.NULL_ROUTE).route or None
    _log_error(error, f"Event {event!r} on {view.channel!r}", route=route, **fields)
    event_name = event if isinstance(event, str) else None
    try:
        payload = wire(error.as_event(event_name))
    except TypeError:
        logger.exception("The extra data of %r cannot be sent; sending server_error instead", error, code=error.code, **fields)
        payload = ServerError().as_event(event_name)
    try:
        signals.error.send(sender=type(view), view=view, event=event, error=error, exception=exc)
        view.hub.emit("error", payload, channel=view.channel, to=view.sid)
    except Exception:
        logger.exception("Could not report an error to %s on %r", view.sid, view.channel, code=error.code, **fields)
    return {"error": payload}


def end_subscription(view, reason=None):
    """Run the view's teardown and ``after_disconnect``, then send ``unsubscribed``, whatever fails on the way."""
    try:
        view.teardown(reason)
    except Exception:
        logger.exception("on_disconnect of %r failed", view, **of_view(view))
    finally:
        logger.info("Unsubscribed %s from %r (%s)", view.sid, view.channel, reason, **of_view(view))
        if view.hub.policy is not None:
            recovery.close_session(view, view.hub, reason, view.hub.policy)
        _run_hook(view, view.after_disconnect)
        try:
            signals.unsubscribed.send(sender=type(view), view=view, reason=reason)
        except Exception:
            logger.exception("An unsubscribed receiver failed for %r", view, **of_view(view))


def _prepare_recovery(view, outbox, claim):
    try:
        recovery.prepare(view, outbox, claim)
    except Exception as exc:
        # History unreachable (Redis down): a fresh subscription, not a refusal.
        get_history().outage.failed(exc)
        view.recovery_failure = recovery.HISTORY_UNAVAILABLE
        outbox.pid, outbox.replay, outbox.resume_offset = recovery.new_pid(), [], None


def _run_hook(view, hook):
    try:
        hook(*view.args, **view.kwargs)
    except Exception:
        logger.exception("%s of %r failed", hook.__name__, view, **of_view(view))


def _log_error(error, context, *, route=None, **fields):
    if isinstance(error, ServerError):
        metrics.get_meter().refused(route, error.code)
        logger.exception("%s failed", context, code=error.code, **fields)
    elif isinstance(error, ChannelError):
        log_refusal(error, context, fields.get("connection_id"), route=route, **fields)


def log_refusal(error, context, key, level=logging.INFO, *, route=None, **fields):
    """Count and log that ``error`` refused ``context``: one line per ``key`` (a connection, a client address) and
    code every :data:`~socketio_views.logs.LOG_BURST` seconds, however many refusals a flood brings
    (:func:`~socketio_views.logs.log_per_burst`).

    Every refusal is counted (``socketio_views_refusals_total``), under
    ``route`` (the registered pattern) if one is concerned. The record's
    ``code`` is the error's; ``fields`` are its other structured fields
    (:data:`socketio_views.logs.FIELDS`).
    """
    metrics.get_meter().refused(route, error.code)
    log_per_burst(
        level, (key, error.code), "%s refused: %s (%s)", context, error.message, error.code, code=error.code, **fields
    )
