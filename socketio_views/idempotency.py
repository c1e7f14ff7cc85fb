"""
Idempotent client events: a repeat of an event is answered with the first answer, its handler not run again.

socket.io-client's ``retries`` and ``ackTimeout`` options send an event
again when its acknowledgement does not arrive in time (it was slow, or lost
with the connection), so the server may receive it twice. A view with
:class:`~socketio_views.mixins.IdempotentEventsMixin` remembers, for
``idempotency_window`` seconds, the answer to each event that carried an id
of the client's choosing (its payload's ``"id"`` field by default), and
answers a repeat with it.

Example usage::

    class RoomChannel(IdempotentEventsMixin, ChannelView):
        idempotent_events = {"message"}

        def on_message(self, message: ChatMessage, room):   # {"id": "...", "text": "..."}
            ...

The answers are kept where history is: in Redis with a Redis ``BACKEND`` (or
``HISTORY_URL``), shared by every process and across reconnects; otherwise
in this process's memory. Only answers are kept: an event that was refused
or failed is run again when repeated.
"""
import json
import threading
import time

from .backends import is_database_url, shared_redis_url
from .conf import views_settings
from .exceptions import EventRefused
from .logs import logger
from .payloads import unstructure, wire
from .state import ProcessWide

#: The longest client id accepted, in characters; a longer one is not remembered.
MAX_ID_LENGTH = 200
#: Seconds a repeat waits for the answer of the same event still being handled elsewhere.
PENDING_WAIT = 5
_PENDING = "pending"


class MemoryAnswers:
    """Answers in this process's memory."""

    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self.entries = {}  # key -> (expires at, answer JSON or _PENDING)
        self._lock = threading.Lock()

    def reserve(self, key, window):
        """Return ``None`` if ``key`` is new (and now reserved), else its answer's JSON or ``"pending"``."""
        now = self.clock()
        with self._lock:
            for old in [k for k, (expires, _a) in self.entries.items() if expires < now]:
                del self.entries[old]
            if key in self.entries:
                return self.entries[key][1]
            self.entries[key] = (now + window, _PENDING)
        return None

    def store(self, key, answer, window):
        """Keep ``answer`` (JSON text) for ``window`` seconds."""
        with self._lock:
            self.entries[key] = (self.clock() + window, answer)

    def release(self, key):
        """Forget ``key``: its event is run again when it comes."""
        with self._lock:
            self.entries.pop(key, None)

    def close(self):
        """Nothing to release."""


class RedisAnswers:
    """Answers in Redis keys, shared by every process."""

    def __init__(self, url, prefix="socketio_views"):
        import redis

        self.redis = redis.Redis.from_url(url)
        self.prefix = prefix

    def _key(self, key):
        return f"{self.prefix}:answer:{key}"

    def reserve(self, key, window):
        """As :meth:`MemoryAnswers.reserve`, with ``SET NX``: one process reserves a key."""
        if self.redis.set(self._key(key), _PENDING, nx=True, ex=max(1, int(window))):
            return None
        found = self.redis.get(self._key(key))
        return _PENDING if found is None else found.decode()

    def store(self, key, answer, window):
        """As :meth:`MemoryAnswers.store`."""
        self.redis.set(self._key(key), answer, ex=max(1, int(window)))

    def release(self, key):
        """As :meth:`MemoryAnswers.release`."""
        self.redis.delete(self._key(key))

    def close(self):
        """Close the connection pool."""
        self.redis.close()


def make_store():
    """The store of answers from the settings: Redis where history is kept in Redis, else memory.

    With history in the database (``HISTORY_URL = "django"``), Redis if the ``BACKEND`` is one, else memory.
    """
    url = views_settings.HISTORY_URL or shared_redis_url()
    if is_database_url(url):
        url = shared_redis_url()
    return RedisAnswers(url) if url else MemoryAnswers()


_store = ProcessWide(make_store, close=lambda store: store.close())


def get_answers():
    """This process's store of answers (:class:`RedisAnswers` or :class:`MemoryAnswers`)."""
    return _store.get()


def client_id(data, field):
    """The client's id of an event: ``data[field]`` if it is a non-empty string, else ``None``."""
    if not isinstance(data, dict):
        return None
    value = data.get(field)
    if isinstance(value, str) and 0 < len(value) <= MAX_ID_LENGTH:
        return value
    return None


def once(key, window, run, converter):
    """Return ``run()``'s answer, or the answer remembered under ``key`` from an earlier run within ``window`` seconds.

    An event handled elsewhere at this very moment is waited for, at most
    :data:`PENDING_WAIT` seconds, then refused (code ``refused``) for the
    client to retry. A run that raises is not remembered; if the store
    fails, the event is handled as if it were not idempotent.
    """
    store = get_answers()
    deadline = time.monotonic() + PENDING_WAIT
    while True:
        try:
            found = store.reserve(key, window)
        except Exception:
            # Redis unreachable: handle the event, as if it were not idempotent,
            # rather than refuse every event.
            logger.warning("Answers cannot be remembered (their store failed); handling %s anyway", key, exc_info=True)
            return run()
        if found is None:
            break
        if found != _PENDING:
            return json.loads(found)
        if time.monotonic() >= deadline:
            raise EventRefused("This event is still being handled; wait for its answer, then try again.")
        time.sleep(0.05)
    try:
        answer = wire(unstructure(run(), converter))
    except BaseException:
        store.release(key)
        raise
    try:
        store.store(key, json.dumps(answer), window)
    except (TypeError, ValueError):
        # Binary answers cannot be kept as JSON: the event will run again.
        logger.warning("The answer to %s cannot be remembered (not JSON); a repeat runs again", key)
        store.release(key)
    return answer
