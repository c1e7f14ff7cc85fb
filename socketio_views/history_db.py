"""
History and recovery sessions in the Django database: kept across restarts without Redis.

Set ``HISTORY_URL`` to ``"django"`` (the ``default`` database) or
``"django://<alias>"`` and run ``manage.py migrate``; channels keep their
``history`` as they would in Redis, and a client reconnecting after the
server restarted recovers what it missed::

    SOCKETIO_VIEWS = {"HISTORY_URL": "django"}

Each broadcast kept is one short transaction: the channel's row in
:class:`~socketio_views.models.HistoryStream` is locked, the entry numbered
and inserted, and the oldest entries past ``history`` deleted, so offsets are
handed out once each and in commit order, on SQLite as on PostgreSQL.
Channels silent for ``history_ttl`` and expired recovery sessions are swept
at most once a minute.

The store uses the calling thread's connection, as any ORM call does: the
socket handlers close theirs after each event (``CLOSE_DB_CONNECTIONS``),
requests at their end. Broadcast with
:func:`~socketio_views.broadcast_on_commit` inside a transaction: an entry
written in a transaction that rolls back is gone, though it was delivered.
"""
import functools
import json
import time

from django.db import DatabaseError, IntegrityError, connections, transaction
from django.db.models import F, Q

from .offsets import START, Entry, parse_offset
from .logs import logger
from .models import HistoryEntry, HistoryStream, RecoverySession
from .outages import Outage

#: Seconds between two sweeps of expired channels and sessions.
SWEEP_INTERVAL = 60


def alias_of(url):
    """The database alias a ``HISTORY_URL`` names (``"django"`` or ``"django://<alias>"``), or ``None`` if it names none."""
    if url == "django":
        return "default"
    if isinstance(url, str) and url.startswith("django://"):
        return url[len("django://"):] or "default"
    return None


def _guarded(method):
    """After a database error, drop the thread's connection if it is broken (the database restarted), so the next call reconnects."""

    @functools.wraps(method)
    def guarded(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except DatabaseError:
            connection = connections[self.using]
            if not connection.in_atomic_block:
                connection.close_if_unusable_or_obsolete()
            raise

    return guarded


class DatabaseHistory:
    """History in :class:`~socketio_views.models.HistoryEntry` rows and recovery sessions in
    :class:`~socketio_views.models.RecoverySession` rows, in the database ``using``.

    The interface of :class:`~socketio_views.history.MemoryHistory`.
    """

    def __init__(self, using="default", clock=time.time):
        self.using = using
        self.clock = clock
        self._swept = 0.0
        self.outage = Outage(
            "History (database)",
            "broadcasts are delivered live without being kept or numbered, and nothing is recovered",
        )

    @_guarded
    def append(self, channel, policy, event, data, skip_sid=None):
        """Keep a broadcast; return its offset."""
        text = json.dumps(data)  # a TypeError for what JSON cannot hold, before anything is written
        now = self.clock()
        entries = HistoryEntry.objects.using(self.using)
        with transaction.atomic(using=self.using):
            stream = self._locked_stream(channel, now + policy.ttl)
            if stream.expires < now:
                # Silent for its ttl: forgotten, as an expired Redis key. Offsets
                # keep increasing, and the next entry's ``previous`` tells that
                # whoever is behind it missed what expired.
                entries.filter(channel=channel).delete()
                stream.first = stream.appended + 1
            previous = _offset(stream.last_ms, stream.last_seq)
            ms = int(now * 1000)
            if ms > stream.last_ms:
                stream.last_ms, stream.last_seq = ms, 0
            else:
                stream.last_seq += 1
            stream.appended += 1
            stream.expires = now + policy.ttl
            entries.create(
                channel=channel,
                number=stream.appended,
                ms=stream.last_ms,
                seq=stream.last_seq,
                previous=previous,
                event=event,
                data=text,
                skip_sid=skip_sid or "",
            )
            if stream.appended - stream.first >= policy.size:
                stream.first = stream.appended - policy.size + 1
                entries.filter(channel=channel, number__lt=stream.first).delete()
            stream.save(using=self.using, update_fields=["last_ms", "last_seq", "appended", "first", "expires"])
        self._sweep(now)
        return _offset(stream.last_ms, stream.last_seq)

    def _locked_stream(self, channel, expires):
        """The channel's stream row, locked until the transaction ends (created if need be)."""
        streams = HistoryStream.objects.using(self.using)
        for _attempt in range(3):
            # An UPDATE before any read takes the row's lock (PostgreSQL) or the
            # database's write lock (SQLite): a SELECT first would let two
            # broadcasts number from the same row, or deadlock SQLite.
            if streams.filter(channel=channel).update(last_ms=F("last_ms")):
                return streams.get(channel=channel)
            try:
                with transaction.atomic(using=self.using):
                    return streams.create(channel=channel, expires=expires)
            except IntegrityError:
                continue  # another broadcast created it meanwhile: lock that row
        raise DatabaseError(f"Could not lock the history of {channel!r}.")

    def _stream(self, channel):
        return HistoryStream.objects.using(self.using).filter(channel=channel).first()

    def _expired(self, stream):
        return stream.expires < self.clock()

    @_guarded
    def after(self, channel, offset):
        """Every kept entry after ``offset``, or ``None`` if some of them are no longer kept."""
        wanted = parse_offset(offset)
        if wanted is None:
            return None
        stream = self._stream(channel)
        if stream is None:
            return [] if offset == START else None
        last = (stream.last_ms, max(stream.last_seq, 0))
        entries = HistoryEntry.objects.using(self.using).filter(channel=channel).order_by("number")
        oldest = None if self._expired(stream) else entries.values_list("previous", flat=True).first()
        if oldest is None:
            # Nothing kept (expired): complete only for a client that had the last entry.
            return [] if wanted >= last else None
        if wanted < parse_offset(oldest):
            return None  # the entries between the client's and the oldest kept were trimmed
        ms, seq = wanted
        newer = entries.filter(Q(ms__gt=ms) | Q(ms=ms, seq__gt=seq))
        return [self._entry(e) for e in newer]

    @_guarded
    def last(self, channel, count):
        """The last ``count`` entries of ``channel``, oldest first."""
        stream = self._stream(channel) if count > 0 else None
        if stream is None or self._expired(stream):
            return []
        newest = HistoryEntry.objects.using(self.using).filter(channel=channel).order_by("-number")[:count]
        return [self._entry(e) for e in reversed(newest)]

    @_guarded
    def last_offset(self, channel):
        """The offset of the channel's latest entry (kept or expired), or :data:`~socketio_views.history.START`."""
        stream = self._stream(channel)
        if stream is None or stream.last_seq < 0:
            return START
        return _offset(stream.last_ms, stream.last_seq)

    @_guarded
    def count(self, channel):
        """How many entries ``channel`` keeps (for tests and operators)."""
        stream = self._stream(channel)
        if stream is None or self._expired(stream):
            return 0
        return HistoryEntry.objects.using(self.using).filter(channel=channel).count()

    @_guarded
    def save_session(self, pid, session, ttl):
        """Keep a recovery session for ``ttl`` seconds."""
        now = self.clock()
        values = {"sid": session["sid"], "session": json.dumps(session), "expires": now + ttl}
        sessions = RecoverySession.objects.using(self.using)
        if not sessions.filter(pid=pid).update(**values):
            try:
                with transaction.atomic(using=self.using):
                    sessions.create(pid=pid, **values)
            except IntegrityError:
                sessions.filter(pid=pid).update(**values)
        self._sweep(now)

    @_guarded
    def extend_session(self, pid, session, ttl):
        """Keep ``session`` for ``ttl`` more seconds if it is still the one kept under ``pid``
        (one UPDATE: no other process's write comes between the check and the write)."""
        now = self.clock()
        RecoverySession.objects.using(self.using).filter(pid=pid, sid=session["sid"], expires__gte=now).update(
            session=json.dumps(session), expires=now + ttl
        )

    @_guarded
    def renew_session(self, pid, session, ttl):
        """Keep ``session`` for ``ttl`` more seconds unless another subscription (another ``sid``) has recovered it;
        written again if it expired. Return whether it was kept (one UPDATE, or an INSERT if there was no row)."""
        now = self.clock()
        values = {"sid": session["sid"], "session": json.dumps(session), "expires": now + ttl}
        sessions = RecoverySession.objects.using(self.using)
        if sessions.filter(Q(sid=session["sid"]) | Q(expires__lt=now), pid=pid).update(**values):
            return True
        try:
            with transaction.atomic(using=self.using):
                sessions.create(pid=pid, **values)
        except IntegrityError:
            return False  # another subscription's, and not expired
        return True

    @_guarded
    def drop_session(self, pid):
        """Forget the recovery session ``pid``."""
        RecoverySession.objects.using(self.using).filter(pid=pid).delete()

    @_guarded
    def load_session(self, pid):
        """The recovery session ``pid``, or ``None`` if it is unknown or expired."""
        found = (
            RecoverySession.objects.using(self.using)
            .filter(pid=pid, expires__gte=self.clock())
            .values_list("session", flat=True)
            .first()
        )
        return json.loads(found) if found is not None else None

    def close(self):
        """Nothing to release: connections belong to the threads that opened them."""

    def sweep(self, now=None):
        """Delete the channels silent for their ttl, their entries, and the expired sessions."""
        now = self.clock() if now is None else now
        expired = HistoryStream.objects.using(self.using).filter(expires__lt=now)
        HistoryEntry.objects.using(self.using).filter(channel__in=expired.values("channel")).delete()
        expired.delete()
        RecoverySession.objects.using(self.using).filter(expires__lt=now).delete()

    def _sweep(self, now):
        if now - self._swept < SWEEP_INTERVAL or connections[self.using].in_atomic_block:
            return
        self._swept = now  # before sweeping: other greenlets do not sweep too
        try:
            self.sweep(now)
        except DatabaseError:
            # What was asked succeeded; the next sweep will try again.
            logger.exception("History: could not delete expired channels and sessions")

    @staticmethod
    def _entry(row):
        return Entry(_offset(row.ms, row.seq), row.event, json.loads(row.data), row.skip_sid or None)


def _offset(ms, seq):
    return START if seq < 0 else f"{ms}-{seq}"
