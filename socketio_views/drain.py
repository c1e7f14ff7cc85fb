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
  Each connection's subscriptions are torn down on the server right after
  its CLOSE packet is queued, :data:`CONCURRENT_TEARDOWNS` at a time, so
  that the closes keep to their schedule however long the teardowns take.

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
from gevent.queue import Queue

from .conf import views_settings
from .exceptions import ServerDraining
from .logs import logger


#: Seconds a closed connection's client is given to close its WebSocket
#: before the server shuts the TCP connection itself.
SHUT_GRACE = 2

#: The reason of the connections the drain closes (``disconnect_reason`` of
#: their subscriptions): a handover, not a departure; the client reconnects.
REASON = "server draining"

#: How many closed connections' teardowns (their subscriptions' ``on_disconnect``,
#: recovery sessions, presence) run at once: each may hold a connection to Redis
#: and one to the database while it runs.
CONCURRENT_TEARDOWNS = 16


class Drain:
    """The drain state of this process (one instance: :data:`state`)."""

    def __init__(self):
        self.started_at = None
        self.window = None
        #: Set once every transport has been told to close (CLOSE packets queued).
        self.sent = Event()
        #: Set once, besides, the subscriptions of every closed connection have been torn down.
        self.torn_down = Event()
        #: Set once the drain is over (transports that did not close are shut too).
        self.done = Event()
        #: Connections told to close so far.
        self.closed = 0
        #: Connections told to close whose subscriptions are not torn down yet.
        self.tearing_down = 0
        #: Set once the health check has answered 503 (the load balancer knows).
        self.noticed = Event()
        #: The Engine.IO server whose connections a drain closes (:func:`serve`), or ``None``.
        self.engine = None

    @property
    def active(self):
        """Whether the process is draining (or has drained): no new connection is accepted."""
        return self.started_at is not None

    def reset(self):
        """Accept connections again (tests)."""
        engine = self.engine
        self.__init__()
        self.engine = engine


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
    connection's transport is closed and its subscriptions torn down.
    """
    if state.active:
        return
    state.window = views_settings.DRAIN_WINDOW if window is None else window
    state.started_at = time.monotonic()
    notice = views_settings.DRAIN_NOTICE if notice is None else notice
    gevent.spawn(_close_transports, state.window, notice)


def wait(timeout=None, *, shut=True):
    """Block (cooperatively) until the drain is over; return whether it is.

    Over: every connection's transport has been told to close, the
    subscriptions of each have been torn down (``on_disconnect``, recovery
    sessions saved) and the WebSockets their clients did not close within
    :data:`SHUT_GRACE` are shut. With ``shut=False``, only until the
    teardowns have run (the process is about to exit anyway).
    """
    return (state.done if shut else state.torn_down).wait(timeout)


def serve(engine):
    """Drain the connections of ``engine`` (the Engine.IO server of this process, which calls this when it starts)."""
    state.engine = engine


def _close_transports(window, notice):
    try:
        if notice:
            state.noticed.wait(notice)
        eio = state.engine
        if eio is None:
            logger.info("Draining: no connection to close")
            return
        sids = list(eio.sockets)
        random.shuffle(sids)
        logger.warning("Draining: closing %d connection(s) over %.1f s", len(sids), window)
        started = time.monotonic()
        teardowns = _Teardowns(eio)
        closed = []
        for index, sid in enumerate(sids):
            # Each connection at a jittered moment of its own slot of the
            # window: a steady stream of reconnections. A process held up
            # (busy) closes at once those whose moment has passed, so that it
            # keeps to the schedule: one wake-up may close several.
            delay = started + window * (index + random.random()) / len(sids) - time.monotonic()
            if delay > 0:
                gevent.sleep(delay)
            _close(eio, sid, teardowns, closed)
        # Connections opened since (before the load balancer noticed) go too.
        for sid in list(eio.sockets):
            _close(eio, sid, teardowns, closed)
        state.sent.set()
        shutting = gevent.spawn(_shut_unclosed, eio, closed)
        teardowns.join()
        state.torn_down.set()
        shutting.join()
        logger.warning("Drained: %d connection(s) closed in %.1f s", state.closed, time.monotonic() - started)
    except Exception:
        logger.exception("Draining failed")
    finally:
        state.sent.set()
        state.torn_down.set()
        state.done.set()


def _shut_unclosed(eio, closed):
    """Shut the WebSockets of ``closed`` (Engine.IO sockets) whose clients have not closed them within :data:`SHUT_GRACE`."""
    deadline = time.monotonic() + SHUT_GRACE
    while time.monotonic() < deadline and any(map(eio.transport_open, closed)):
        gevent.sleep(0.05)
    for socket in closed:
        if eio.transport_open(socket):
            eio.shut_transport(socket)


def _close(eio, sid, teardowns, closed):
    """Send Engine.IO CLOSE to connection ``sid`` now; hand its teardown to ``teardowns``.

    The subscriptions' teardown may wait for Redis or the database: the
    packet goes first, so that the transports close on schedule however long
    the teardowns take.
    """
    socket = eio.close_first(sid)
    if socket is None:
        return
    closed.append(socket)
    state.closed += 1
    teardowns.put(sid, socket)


class _Teardowns:
    """The teardowns of the connections the drain closed, :data:`CONCURRENT_TEARDOWNS` at a time.

    Bounded, so that thousands of teardowns do not open as many connections
    to Redis (redis-py's pool opens one per waiting greenlet) or the database.
    """

    def __init__(self, eio):
        self.eio = eio
        self.waiting = Queue()
        self.workers = [gevent.spawn(self._work) for _ in range(CONCURRENT_TEARDOWNS)]

    def put(self, sid, socket):
        state.tearing_down += 1
        self.waiting.put((sid, socket))

    def join(self):
        """Wait until every teardown has run (the callers of :func:`wait` bound it)."""
        for _worker in self.workers:
            self.waiting.put(StopIteration)
        gevent.joinall(self.workers)

    def _work(self):
        for sid, socket in self.waiting:
            try:
                self.eio.tear_down(sid, socket, REASON)
            except Exception:
                logger.exception("Draining: the teardown of connection %s failed", sid, connection_id=sid)
            finally:
                state.tearing_down -= 1


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
