"""
Pacing: the work that arrives in crowds, done in turns of the event loop that leave the established connections their latency.

Every socket of a process shares one gevent hub, whose event loop takes
turns: a thousand subscriptions that arrive together (a crowd joining a
room, a restart whose clients all come back) each run Django code for a few
milliseconds, and a chat message read in the same turn waits for all of
them.

* :func:`wait_for_turn` (:class:`Turns`): handshakes, subscriptions and
  history replays wait, in order of arrival, for a turn that has run for
  less than :data:`TURN_SLICE`.
* :class:`SubscriptionTurns`: at most ``MAX_SUBSCRIPTIONS_IN_PROGRESS``
  subscriptions are decided at once, each in its turn.
* :class:`Teardowns`: connections that end together are torn down in
  batches that let the hub serve the others.

Example settings::

    SOCKETIO_VIEWS = {"MAX_SUBSCRIPTIONS_IN_PROGRESS": 8}
"""
import time
from collections import deque
from contextlib import contextmanager, suppress

import gevent
from gevent.hub import Waiter
from gevent.lock import Semaphore

from ..logs import logger

#: Seconds of a turn of the event loop after which work that waits for its turn (:func:`wait_for_turn`) waits for the next.
TURN_SLICE = 0.005


class Turns:
    """The turns of one gevent hub's event loop, shared out: new work waits, in order of arrival, for a turn with time left.

    libev's loop (gevent's default on Linux) takes a turn as: gevent's
    callbacks (greenlets starting, queues waking their readers), a poll for
    I/O, then every watcher that fired (the sockets that can be read, the
    timers due). A turn's length is what every established connection
    waits, at worst, to be read and written. Work that arrives in crowds
    and costs milliseconds each (handshakes, subscriptions, history
    replays) calls :meth:`wait` first. A ``check`` watcher marks the start
    of each turn, right after the poll, and lets waiting work run, in
    order, until the turn has run for :data:`TURN_SLICE` (at least one piece
    each turn); the established connections' reads and writes follow in the
    same turn.
    """

    def __init__(self, loop):
        self.loop = loop
        self.waiting = deque()
        #: When the current turn started (a :func:`time.monotonic`). Not the
        #: loop's cached time: starting a timer (a request's deadline) updates that.
        self.turn_started = time.monotonic()
        self.check = loop.check(ref=False)
        self.check.start(self._turn)
        # An active idle watcher keeps the loop from blocking in its poll while work waits.
        self.idle = loop.idle(ref=False)

    def time_left(self):
        """Whether the current turn of the loop has run for less than :data:`TURN_SLICE`."""
        return time.monotonic() - self.turn_started < TURN_SLICE

    def wait(self):
        """Return at once if no work waits and this turn has time left; else wait for a turn, in order of arrival."""
        if not self.waiting and self.time_left():
            return
        waiter = Waiter()
        self.waiting.append(waiter)
        if not self.idle.active:
            self.idle.start(_nothing)
        try:
            waiter.get()
        except BaseException:
            with suppress(ValueError):
                self.waiting.remove(waiter)  # killed while it waited
            raise

    def _turn(self):
        self.turn_started = time.monotonic()
        if not self.waiting:
            if self.idle.active:
                self.idle.stop()
            return
        while self.waiting:
            self.waiting.popleft().switch(None)
            if not self.time_left():
                break


def _nothing():
    pass


#: Per gevent hub (one per thread): its :class:`Turns`, or ``None`` where the loop is not libev's.
_turns = {}


def wait_for_turn():
    """Wait, in order of arrival, for a turn of this thread's event loop with time left (:class:`Turns`).

    Returns at once where the loop is not libev's.
    """
    hub = gevent.get_hub()
    turns = _turns.get(hub, False)
    if turns is False:
        loop = hub.loop
        turns = _turns[hub] = Turns(loop) if type(loop).__module__.startswith("gevent.libev") else None
    if turns is not None:
        turns.wait()


class SubscriptionTurns:
    """Subscriptions decided ``size`` at a time, in order of arrival, each started in a turn of the loop with time left.

    ``size`` ``None`` decides every subscription as it arrives. The bound
    also bounds the database connections that subscriptions hold at once.
    """

    def __init__(self, size):
        self.slots = None if size is None else Semaphore(size)

    @contextmanager
    def turn(self):
        """Wait for this subscription's turn; it holds one of the ``size`` slots until the block ends."""
        if self.slots is None:
            yield
            return
        with self.slots:
            wait_for_turn()
            yield


class Teardowns:
    """Teardowns of connections that end together (a mass ping timeout), run in batches that let the hub serve the others.

    While more than :data:`TEARDOWN_BATCH` connections ended within the last
    :data:`TEARDOWN_BURST` seconds, or teardowns are waiting, a connection's
    teardown joins the queue; one greenlet runs them, :data:`TEARDOWN_BATCH`
    at a time or for :data:`TEARDOWN_SLICE` seconds, whichever ends first,
    sleeping a millisecond between batches so that the process's sockets are
    read and written meanwhile.
    """

    def __init__(self, server):
        self.server = server
        self.waiting = deque()
        self.worker = None
        self.burst_started = 0.0
        self.burst = 0

    def crowded(self):
        """Count one more ending connection; return whether its teardown should wait its turn."""
        now = time.monotonic()
        if now - self.burst_started > TEARDOWN_BURST:
            self.burst_started, self.burst = now, 0
        self.burst += 1
        return bool(self.waiting) or self.burst > TEARDOWN_BATCH

    def put(self, connection_id, reason):
        """Queue the teardown of ``connection_id``."""
        self.waiting.append((connection_id, reason))
        if self.worker is None:
            self.worker = self.server.start_background_task(self._work)

    def _work(self):
        try:
            while self.waiting:
                deadline = time.monotonic() + TEARDOWN_SLICE
                for _ in range(min(TEARDOWN_BATCH, len(self.waiting))):
                    connection_id, reason = self.waiting.popleft()
                    try:
                        self.server.end_connection(connection_id, reason)
                    except Exception:
                        logger.exception("The teardown of connection %s failed", connection_id, connection_id=connection_id)
                    if time.monotonic() > deadline:
                        break
                self.server.sleep(0.001)
        finally:
            self.worker = None


#: Teardowns run in a row before the hub serves other greenlets, when many connections end together.
TEARDOWN_BATCH = 20

#: Seconds a batch of teardowns may take before the hub serves other greenlets (one teardown may take longer).
TEARDOWN_SLICE = 0.01

#: Connections ending within this many seconds of each other end "together" (:class:`Teardowns`).
TEARDOWN_BURST = 0.1
