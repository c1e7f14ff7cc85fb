"""
Channel history: the last broadcasts of each channel, numbered, and the stores that keep them.

A channel whose view sets ``history`` keeps its last broadcasts, each with an
offset that orders it within the channel (``"1732960000000-0"``, a Redis
stream id). Broadcast packets carry their offset as their last argument, as
Socket.IO's connection state recovery expects; a reconnecting official
client sends back ``{pid, offset}`` and receives what it missed
(:mod:`socketio_views.recovery` decides what).

With a Redis ``BACKEND`` history and recovery sessions live in Redis
(streams trimmed to ``history`` entries, expiring after ``history_ttl`` of
silence), shared by every process and kept across restarts; with
``HISTORY_URL = "django"`` in the database (:mod:`socketio_views.history_db`),
kept across restarts; otherwise in this process's memory, with the same bounds.

Example usage::

    class RoomChannel(ChannelView):
        history = 100                  # messages kept per channel
        send_history_on_subscribe = 50 # a newcomer receives the last 50

        def on_subscribe(self, room):
            if not self.recovered:
                self.send(snapshot(room), event="snapshot")
"""
import collections
import json
import threading
import time

import attrs

from .backends import is_database_url, shared_redis_url
from .conf import views_settings
from .mounts import mounted_match
from .offsets import START, Entry, parse_offset  # noqa: F401  (history.START and the others, for its users)
from .outages import Outage
from .state import LRU, ProcessWide


@attrs.frozen
class Policy:
    """How a channel keeps history: ``size`` entries, ``ttl`` seconds of silence,
    sessions for ``window`` seconds, of ``events`` only (``None``: every event)."""

    size: int
    ttl: float
    window: float
    events: frozenset | None = None

    def keeps(self, event):
        """Whether broadcasts of ``event`` are kept."""
        return self.events is None or event in self.events


class MemoryHistory:
    """History and recovery sessions in this process's memory (no Redis backend, and tests).

    The sessions of subscriptions that ended (those :meth:`extend_session`
    keeps for the recovery window) are at most ``max_sessions``: past it the
    one that ended first is forgotten, so that connections that come and
    vanish cannot grow the process without bound within a recovery window.
    Live subscriptions' sessions do not count.

    :param max_sessions: how many ended subscriptions' sessions are kept
        (``None``: ``MAX_RECOVERY_SESSIONS``, which may itself be ``None``, no limit).
    """

    def __init__(self, clock=time.time, max_sessions=None):
        self.clock = clock
        self.channels = {}  # channel -> _MemoryStream
        self.sessions = {}  # pid -> (expires at, session dict)
        #: The pids of the sessions of subscriptions that ended, the first ended first.
        self.ended = collections.OrderedDict()
        self.max_sessions = views_settings.MAX_RECOVERY_SESSIONS if max_sessions is None else max_sessions
        self._lock = threading.Lock()
        self.outage = Outage("History", "nothing is kept")  # memory does not fail

    def append(self, channel, policy, event, data, skip_sid=None):
        """Keep a broadcast; return its offset."""
        now = self.clock()
        with self._lock:
            self._expire(now)
            stream = self.channels.get(channel)
            if stream is None:
                stream = self.channels[channel] = _MemoryStream(policy.size)
            stream.ttl, stream.touched = policy.ttl, now
            offset = stream.next_offset(int(now * 1000))
            stream.append(Entry(offset, event, json.loads(json.dumps(data)), skip_sid))
        return offset

    def after(self, channel, offset):
        """Every kept entry after ``offset``, or ``None`` if some of them are no longer kept."""
        wanted = parse_offset(offset)
        with self._lock:
            self._expire(self.clock())
            stream = self.channels.get(channel)
        if stream is None:
            return [] if offset == START else None
        if wanted is None or parse_offset(stream.max_deleted) > wanted:
            return None
        return [e for e in stream.entries if parse_offset(e.offset) > wanted]

    def last(self, channel, count):
        """The last ``count`` entries of ``channel``, oldest first."""
        stream = self.channels.get(channel)
        return list(stream.entries)[-count:] if stream is not None and count > 0 else []

    def last_offset(self, channel):
        """The offset of the channel's latest entry, or :data:`START`."""
        stream = self.channels.get(channel)
        return stream.entries[-1].offset if stream is not None and stream.entries else START

    def save_session(self, pid, session, ttl):
        """Keep a recovery session for ``ttl`` seconds (a live subscription's: not counted in ``max_sessions``)."""
        self.ended.pop(pid, None)
        self.sessions[pid] = (self.clock() + ttl, session)

    def extend_session(self, pid, session, ttl):
        """Keep ``session`` for ``ttl`` more seconds if it is still the one kept under ``pid``.

        Not if it expired or was dropped, nor if another subscription (another
        ``sid``) has recovered it since. Its subscription has ended
        (:meth:`~socketio_views.recovery.SessionKeeper.release`): the session is the newest of the
        ``max_sessions`` kept, and the oldest past them is forgotten.
        """
        with self._lock:
            current = self.load_session(pid)
            if current is None or current["sid"] != session["sid"]:
                return
            self.sessions[pid] = (self.clock() + ttl, session)
            self.ended[pid] = None
            self.ended.move_to_end(pid)
            while self.max_sessions is not None and len(self.ended) > self.max_sessions:
                oldest, _ = self.ended.popitem(last=False)
                del self.sessions[oldest]

    def renew_session(self, pid, session, ttl):
        """Keep ``session`` for ``ttl`` more seconds unless another subscription (another ``sid``) has recovered it.

        Written again if it expired or was lost meanwhile. Return whether it
        was kept: ``False`` once another subscription owns ``pid``.
        """
        with self._lock:
            current = self.load_session(pid)
            if current is not None and current["sid"] != session["sid"]:
                return False
            self.save_session(pid, session, ttl)
            return True

    def drop_session(self, pid):
        """Forget the recovery session ``pid``."""
        self.sessions.pop(pid, None)
        self.ended.pop(pid, None)

    def load_session(self, pid):
        """The recovery session ``pid``, or ``None`` if it is unknown or expired."""
        expires, session = self.sessions.get(pid, (0, None))
        if expires < self.clock():
            self.drop_session(pid)
            return None
        return session

    def count(self, channel):
        """How many entries ``channel`` keeps (for tests and operators)."""
        stream = self.channels.get(channel)
        return len(stream.entries) if stream is not None else 0

    def close(self):
        """Nothing to release."""

    def _expire(self, now):
        for channel in [c for c, s in self.channels.items() if now - s.touched > s.ttl]:
            del self.channels[channel]
        for pid in [p for p, (expires, _s) in self.sessions.items() if expires < now]:
            self.drop_session(pid)


class _MemoryStream:
    def __init__(self, size):
        self.entries = collections.deque()
        self.size = size
        self.max_deleted = START
        self.last = (0, -1)
        self.ttl = 0
        self.touched = 0

    def next_offset(self, ms):
        last_ms, last_seq = self.last
        self.last = (ms, 0) if ms > last_ms else (last_ms, last_seq + 1)
        return f"{self.last[0]}-{self.last[1]}"

    def append(self, entry):
        self.entries.append(entry)
        while len(self.entries) > self.size:
            self.max_deleted = self.entries.popleft().offset


#: Set the session (ARGV[1]) with a ttl (ARGV[3]) if the key holds one of the same sid (ARGV[2]).
EXTEND_SESSION = """
local current = redis.call('GET', KEYS[1])
if current and cjson.decode(current)['sid'] == ARGV[2] then
    redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3])
end
"""

RENEW_SESSION = """
local current = redis.call('GET', KEYS[1])
if current and cjson.decode(current)['sid'] ~= ARGV[2] then
    return 0
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3])
return 1
"""


class RedisHistory:
    """History in Redis streams and recovery sessions in Redis keys, shared by every process."""

    def __init__(self, url, prefix="socketio_views"):
        import redis

        self.redis = redis.Redis.from_url(url)
        self.prefix = prefix
        self._extend = self.redis.register_script(EXTEND_SESSION)
        self._renew = self.redis.register_script(RENEW_SESSION)
        #: One warning when Redis goes away, one when it is back.
        self.outage = Outage(
            "History (Redis)", "broadcasts are delivered live without being kept or numbered, and nothing is recovered"
        )

    def _key(self, channel):
        return f"{self.prefix}:history:{channel}"

    def append(self, channel, policy, event, data, skip_sid=None):
        key = self._key(channel)
        pipe = self.redis.pipeline(transaction=False)
        pipe.xadd(key, {"e": event, "d": json.dumps(data), "s": skip_sid or ""}, maxlen=policy.size, approximate=True)
        pipe.expire(key, max(1, int(policy.ttl)))
        offset, _ = pipe.execute()
        return offset.decode()

    def after(self, channel, offset):
        if parse_offset(offset) is None:
            return None
        key = self._key(channel)
        if offset == START:
            # Complete only if nothing was ever trimmed from the stream.
            try:
                info = self.redis.xinfo_stream(key)
            except Exception as exc:
                if "no such key" not in str(exc).lower():
                    raise
                return []
            if info.get("entries-added", info["length"]) != info["length"]:
                return None
        else:
            # Trimming removes the oldest entries: if the client's last entry
            # is still kept, so is everything after it.
            pipe = self.redis.pipeline(transaction=False)
            pipe.xrange(key, offset, offset, count=1)
            pipe.xrange(key, f"({offset}", "+")
            found, entries = pipe.execute()
            if not found:
                return None
            return [self._entry(i, f) for i, f in entries]
        return [self._entry(i, f) for i, f in self.redis.xrange(key, "-", "+")]

    def last(self, channel, count):
        if count <= 0:
            return []
        return [self._entry(i, f) for i, f in reversed(self.redis.xrevrange(self._key(channel), count=count))]

    def last_offset(self, channel):
        found = self.redis.xrevrange(self._key(channel), count=1)
        return found[0][0].decode() if found else START

    def save_session(self, pid, session, ttl):
        self.redis.set(f"{self.prefix}:session:{pid}", json.dumps(session), ex=max(1, int(ttl)))

    def extend_session(self, pid, session, ttl):
        """:meth:`MemoryHistory.extend_session`, in one round trip (a script: no other client's write comes between)."""
        self._extend(keys=[f"{self.prefix}:session:{pid}"], args=[json.dumps(session), session["sid"], max(1, int(ttl))])

    def renew_session(self, pid, session, ttl):
        """:meth:`MemoryHistory.renew_session`, in one round trip (a script: no other client's write comes between)."""
        key, ttl = f"{self.prefix}:session:{pid}", max(1, int(ttl))
        return bool(self._renew(keys=[key], args=[json.dumps(session), session["sid"], ttl]))

    def drop_session(self, pid):
        self.redis.delete(f"{self.prefix}:session:{pid}")

    def load_session(self, pid):
        raw = self.redis.get(f"{self.prefix}:session:{pid}")
        return json.loads(raw) if raw else None

    def count(self, channel):
        return self.redis.xlen(self._key(channel))

    def close(self):
        self.redis.close()

    @staticmethod
    def _entry(offset, fields):
        skip = fields.get(b"s", b"").decode()
        return Entry(offset.decode(), fields[b"e"].decode(), json.loads(fields[b"d"]), skip or None)


def make_store():
    """The history store from the settings: the database with ``HISTORY_URL = "django"``,
    Redis with a Redis URL or ``BACKEND``, else memory."""
    url = views_settings.HISTORY_URL or shared_redis_url()
    if is_database_url(url):
        # Imported here: its models need the app registry, which importing this module does not.
        from .history_db import DatabaseHistory, alias_of

        return DatabaseHistory(alias_of(url))
    return RedisHistory(url) if url else MemoryHistory()


_store = ProcessWide(make_store, close=lambda store: store.close())
#: How many channels' history policies each process remembers (the most recently used).
POLICY_CACHE_SIZE = 1024


_policies = ProcessWide(lambda: LRU(POLICY_CACHE_SIZE))


def get_history():
    """This process's history store (:class:`RedisHistory`, :class:`MemoryHistory` or
    :class:`~socketio_views.history_db.DatabaseHistory`)."""
    return _store.get()


def policy_for(channel):
    """The :class:`Policy` of ``channel``, or ``None`` if its view keeps no history.

    Resolved through the routers included in ``ROOT_URLCONF``
    (:func:`~socketio_views.mounts.mounted_match`), once per channel name
    (the last :data:`POLICY_CACHE_SIZE` are remembered).
    """
    policies = _policies.get()
    known, policy = policies.get(channel)
    if known:
        return policy
    match = mounted_match(channel)
    if match is not None:
        view = match.view_class(**match.initkwargs)
        view.channel, view.args, view.kwargs = channel, match.args, match.kwargs
        policy = view.get_history_policy()
    policies.put(channel, policy)
    return policy


def remember_policy(channel, policy):
    """Record the policy a subscription's view declared, for broadcasts to ``channel`` from elsewhere."""
    _policies.get().put(channel, policy)
