"""
The package's logger, whose every record carries the same structured fields.

Each record of the ``socketio_views`` logger has the attributes named in
:data:`FIELDS` (``None`` where one does not apply), given as logging's
``extra``, so that a JSON formatter such as python-json-logger writes them as
keys of their own. Inside the package, every log call goes through
:data:`logger` and names its fields as keyword arguments::

    from .logs import logger, of_view

    logger.info(
        "Subscribed %s to %r", sid, channel, connection_id=connection_id, sid=sid, channel=channel
    )
    logger.exception("on_disconnect of %r failed", view, **of_view(view))
"""
import logging
import time

from .state import LRU

#: The structured fields of every record of the ``socketio_views`` logger:
#: the Engine.IO connection, the subscription (python-socketio's ``sid`` in
#: its namespace), the channel, the client event and the error code.
FIELDS = ("connection_id", "sid", "channel", "event", "code")

#: Django's ``runserver`` writes its time this way: ``[30/Nov/2026 17:55:01]``.
SERVER_TIME_FORMAT = "%d/%b/%Y %H:%M:%S"


#: The longest string a record of the package carries, as an argument or a field; a longer one (a channel
#: name or a message a client chose) is cut, and says how long it was.
MAX_LOGGED_STRING = 200


def shorten(value, limit=MAX_LOGGED_STRING):
    """``value`` itself, or, for a string longer than ``limit``, its start and its length: ``'abc…[+99000 chars]'``."""
    if isinstance(value, str) and len(value) > limit:
        return f"{value[:limit]}…[+{len(value) - limit} chars]"
    return value


class FieldsAdapter(logging.LoggerAdapter):
    """A logger whose calls take the :data:`FIELDS` as keyword arguments and put them, all of them, in ``extra``.

    A field a call does not name is ``None``, so a formatter may use any of
    them on any record of the package. String arguments and fields are cut
    to :data:`MAX_LOGGED_STRING` characters (:func:`shorten`): a client
    cannot make one line of the log weigh 100 KB.
    """

    def log(self, level, msg, *args, **kwargs):
        if self.isEnabledFor(level):
            super().log(level, msg, *map(shorten, args), **kwargs)

    def process(self, msg, kwargs):
        extra = dict.fromkeys(FIELDS)
        for name in FIELDS:
            if name in kwargs:
                extra[name] = shorten(kwargs.pop(name))
        extra.update(kwargs.get("extra") or {})
        kwargs["extra"] = extra
        return msg, kwargs


#: The package's logger: ``logging.getLogger("socketio_views")`` with its fields.
logger = FieldsAdapter(logging.getLogger("socketio_views"), {})


#: Seconds during which lines of one kind about one client are written once (:func:`log_per_burst`).
LOG_BURST = 10
#: How many kinds and clients :func:`log_per_burst` remembers (the most recently logged).
LOG_BURST_KEYS = 10_000


class BurstLimiter:
    """Decides which lines a client may make the server write: the first of each key every ``burst`` seconds.

    :param burst: seconds during which a key's later lines are left out (and counted).
    :param size: how many keys are remembered, the most recently used (per-client memory with a bound).
    :param clock: a monotonic clock, replaced in tests.

    Example usage::

        limiter = BurstLimiter(burst=10)
        first = limiter.admit(("refused", "connection-1"))  # (0, 0): write it
        again = limiter.admit(("refused", "connection-1"))  # None: leave it out (counted)
    """

    def __init__(self, burst=LOG_BURST, size=LOG_BURST_KEYS, clock=time.monotonic):
        self.burst = burst
        self.clock = clock
        self._keys = LRU(size)  # key -> [when its last line was written, lines left out since]

    def admit(self, key):
        """``None`` if a line of ``key`` is to be left out; else ``(left_out, seconds)``: how many lines of ``key``
        were left out in the ``seconds`` since its last line (``(0, 0)`` for the first)."""
        now = self.clock()
        known, entry = self._keys.get(key)
        if known and now - entry[0] < self.burst:
            entry[1] += 1
            return None
        self._keys.put(key, [now, 0])
        return (entry[1], now - entry[0]) if known else (0, 0)


_limiter = BurstLimiter()


def log_per_burst(level, key, msg, *args, **fields):
    """Log a line that a client can make the server write (a refusal, a malformed frame, a made-up recovery claim)
    once per ``key`` and ``msg`` every :data:`LOG_BURST` seconds, however many a flood brings.

    ``key`` names the client (its connection or address) and, if need be, what
    it did (an error code). The next line written after a burst says how many
    were left out: ``... (and 312 more like it in the last 14 s)``.
    ``fields`` are the record's :data:`FIELDS`.

    Example usage::

        log_per_burst(logging.WARNING, (connection_id, "malformed"), "Closing connection %s: malformed packet",
                      connection_id, connection_id=connection_id)
    """
    if not logger.isEnabledFor(level):
        return
    admitted = _limiter.admit((msg, key))
    if admitted is None:
        return
    left_out, seconds = admitted
    if left_out:
        msg = f"{msg} (and %d more like it in the last %d s)"
        args = (*args, left_out, round(seconds))
    logger.log(level, msg, *args, **fields)


def of_view(view, **fields):
    """The fields of a record about subscription ``view`` (its connection, sid and channel), with ``fields``."""
    return {"connection_id": view.connection_id, "sid": view.sid, "channel": view.channel, **fields}


def event_field(event):
    """A client's event name as the ``event`` field: ``None`` unless it is a string."""
    return event if isinstance(event, str) else None


class ConsoleFormatter(logging.Formatter):
    """``runserver_socketio``'s console lines: ``[30/Nov/2026 17:55:01] message``, as ``runserver`` prints its own.

    Warnings and errors name their level: ``[...] WARNING message``.
    """

    def __init__(self):
        super().__init__("[%(asctime)s] %(message)s", datefmt=SERVER_TIME_FORMAT)

    def formatMessage(self, record):
        line = super().formatMessage(record)
        if record.levelno >= logging.WARNING:
            stamp = f"[{record.asctime}] "
            line = f"{stamp}{record.levelname} {line[len(stamp):]}"
        return line


def console_handler():
    """A handler that prints the package's records on standard error with :class:`ConsoleFormatter`."""
    handler = logging.StreamHandler()
    handler.setFormatter(ConsoleFormatter())
    return handler
