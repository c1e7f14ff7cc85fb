"""
Graceful drain: a process that stops hands its clients over to the others as a steady stream.

When a process stops (SIGTERM: gunicorn's graceful shutdown, a container
stop; or ``runserver_socketio``'s autoreload), :func:`start`:

* refuses new Engine.IO connections (:exc:`~socketio_views.exceptions.ServerDraining`:
  HTTP 503 to a long-polling handshake, close code 1013 to a WebSocket one),
  and :func:`health_check` answers 503, so that a load balancer stops
  sending clients here;
* closes the Engine.IO *transport* of each open connection (an Engine.IO
  CLOSE packet), not its Socket.IO subscriptions, at a jittered time spread
  over the drain window. The official clients then reconnect by themselves
  (to another process), one after another instead of all in the same
  second, and on channels with history they recover what was sent meanwhile
  (:mod:`socketio_views.history`). :class:`~socketio_views.mixins.PresenceMixin`
  does not announce them as leaving (:data:`REASON` is their
  ``disconnect_reason``): with Redis their entries expire after
  ``PRESENCE_TTL``, by when their clients are listed again under new ids.

Example usage (the load balancer's health check)::

    from socketio_views.drain import health_check

    urlpatterns = [path("healthz/", health_check), ...]
"""
import random
import time

import gevent
from django.db import transaction
from django.http import JsonResponse
from gevent.event import Event

from .conf import views_settings
from .exceptions import ServerDraining
from .logs import logger


#: Seconds a closed connection's client is given to close its WebSocket
#: before the server shuts the TCP connection itself.
SHUT_GRACE = 2

#: The reason of the connections the drain closes (``disconnect_reason`` of
#: their subscriptions): a handover, not a departure; the client reconnects.
REASON = "server draining"


class Drain:
    """The drain state of this process (one instance: :data:`state`)."""

    def __init__(self):
        self.started_at = None
        self.window = None
        #: Set once every transport has been told to close (CLOSE packets queued).
        self.sent = Event()
        #: Set once the drain is over (transports that did not close are shut too).
        self.done = Event()
        self.closed = 0
        #: Set once the health check has answered 503 (the load balancer knows).
        self.noticed = Event()

    @property
    def active(self):
        """Whether the process is draining (or has drained): no new connection is accepted."""
        return self.started_at is not None

    def reset(self):
        """Accept connections again (tests)."""
        self.__init__()


#: This process's drain.
state = Drain()


def is_draining():
    """Whether this process refuses new connections because it is stopping."""
    return state.active


def start(window=None, notice=None):
    """Start draining over ``window`` seconds (default ``DRAIN_WINDOW``); return at once.

    New connections are refused at once; the first transport closes once
    :func:`health_check` has answered 503, or ``notice`` seconds later
    (default ``DRAIN_NOTICE``) without a health check, so that the load
    balancer sends the reconnecting clients elsewhere.

    Safe to call from a signal handler (it only spawns a greenlet) and more
    than once (the first call wins). :func:`wait` returns once every
    connection's transport is closed.
    """
    if state.active:
        return
    state.window = views_settings.DRAIN_WINDOW if window is None else window
    state.started_at = time.monotonic()
    notice = views_settings.DRAIN_NOTICE if notice is None else notice
    gevent.spawn(_close_transports, state.window, notice)


def wait(timeout=None, *, shut=True):
    """Block (cooperatively) until the drain is over; return whether it is.

    With ``shut=False``, only until every transport has been told to close
    (the process is about to exit anyway).
    """
    return (state.done if shut else state.sent).wait(timeout)


def _close_transports(window, notice):
    from .server import get_server, server_exists

    try:
        if notice:
            state.noticed.wait(notice)
        if not server_exists():
            logger.info("Draining: no connection to close")
            return
        eio = get_server().eio
        sids = list(eio.sockets)
        random.shuffle(sids)
        logger.warning("Draining: closing %d connection(s) over %.1f s", len(sids), window)
        started = time.monotonic()
        closed = []
        count = max(len(sids), 1)
        nominal = window / count
        for index, sid in enumerate(sids):
            # One connection per slot, at a jittered moment: a steady stream
            # of reconnections. A process that fell behind (busy) spreads the
            # rest over what is left of the window, at most four times as
            # fast as planned, rather than closing them all at once to catch up.
            remaining = count - index
            time_left = started + window - time.monotonic()
            gap = max(time_left / remaining, nominal / 4)
            gevent.sleep(gap * (0.5 + random.random()) if gap > 0 else 0)
            socket = eio.sockets.get(sid)
            if socket is None or socket.closing or socket.closed:
                continue
            eio.disconnect(sid, reason=REASON)
            closed.append(socket)
            state.closed += 1
        # Connections opened since (before the load balancer noticed) go too.
        for sid in list(eio.sockets):
            socket = eio.sockets.get(sid)
            if socket is not None:
                eio.disconnect(sid, reason=REASON)
                closed.append(socket)
                state.closed += 1
        state.sent.set()
        deadline = time.monotonic() + SHUT_GRACE
        while time.monotonic() < deadline and any(map(_transport_open, closed)):
            gevent.sleep(0.05)
        for socket in closed:
            if _transport_open(socket):
                eio.shut_transport(socket)
        logger.warning("Drained: %d connection(s) closed in %.1f s", state.closed, time.monotonic() - started)
    except Exception:
        logger.exception("Draining failed")
    finally:
        state.sent.set()
        state.done.set()


def _transport_open(socket):
    """Whether the WebSocket of Engine.IO ``socket`` is still open (its client has not closed it)."""
    ws = getattr(getattr(socket, "websocket", None), "_sock", None)
    return ws is not None and not getattr(ws, "closed", True)


def refusal():
    """The error that refuses a new connection while draining, or ``None``."""
    return ServerDraining() if state.active else None


@transaction.non_atomic_requests
def health_check(request):
    """A view for the load balancer's health check: 200 while serving, 503 while draining.

    Include it in the URLconf (``path("healthz/", health_check)``) and point
    the load balancer's health check at it. It touches no database (not even
    with ``ATOMIC_REQUESTS``).
    """
    error = refusal()
    if error is None:
        return JsonResponse({"status": "ok"})
    response = JsonResponse(error.as_dict(), status=503)
    response["Retry-After"] = "1"
    response["Connection"] = "close"
    state.noticed.set()
    return response
