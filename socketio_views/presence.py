"""
Presence: who is subscribed to a channel, across every process, with the
metadata each subscription declared.

With a Redis ``BACKEND`` (or ``PRESENCE_URL``) each channel is a sorted set of
subscription ids scored by an expiry time, beside a hash of their metadata.
Each process renews its own subscriptions every ``PRESENCE_TTL / 3`` seconds
and removes expired ones, so the subscribers of a process that died without
saying goodbye linger at most ``PRESENCE_TTL`` seconds. Without Redis,
presence is kept in this process's memory.

What subscribers are told is coalesced (:class:`PresenceTicks`): each
process sends, per channel, at most one ``presence_diff`` every
``PRESENCE_INTERVAL`` seconds (0.2 by default) whatever the number of joins
and leaves, and past ``PRESENCE_LIST_LIMIT`` subscriptions only
``presence_count``.

Example usage::

    from socketio_views.presence import get_presence

    get_presence().list("rooms/lobby")   # [{"sid": "...", "user": "alice"}, ...]
"""
import json
import threading
import time

import gevent
from gevent import monkey

from .api import broadcast
from .backends import presence_url
from .conf import views_settings
from .logs import logger
from .outages import Outage
from .state import ProcessWide


class MemoryPresence:
    """Presence in this process's memory (no backend, and the test client)."""

    def __init__(self):
        self.reset()

    def reset(self):
        """Forget everyone."""
        self.channels = {}
        self.counted = set()

    def close(self):
        """Nothing to release."""

    def join(self, channel, sid, meta, notify=False):
        """Record subscription ``sid`` on ``channel`` with its ``meta`` (a JSON object)."""
        self.channels.setdefault(channel, {})[sid] = {"sid": sid, **meta}

    def leave(self, channel, sid):
        """Forget ``sid``; return its entry, or ``None`` if it was not present."""
        entries = self.channels.get(channel, {})
        entry = entries.pop(sid, None)
        if not entries:
            self.channels.pop(channel, None)
        return entry

    def release(self, channel, sid):
        """Stop answering for ``sid`` without removing it: this process is stopping (a drain).

        In memory its entry goes with the process; until then it stays listed.
        """

    def list(self, channel):
        """Every present subscription of ``channel``: ``[{"sid": ..., **meta}, ...]`` in join order."""
        return list(self.channels.get(channel, {}).values())

    def count(self, channel):
        """How many subscriptions are present on ``channel``."""
        return len(self.channels.get(channel, {}))

    def mark_counted(self, channel, counted):
        """Note whether ``channel``'s subscribers were last told a count (not a list); return whether they were before."""
        before = channel in self.counted
        if counted:
            self.counted.add(channel)
        else:
            self.counted.discard(channel)
        return before


class RedisPresence:
    """Presence shared by every process through Redis, with expiry against ghosts."""

    def __init__(self, url, ttl, prefix="socketio_views:presence"):
        import redis

        self.redis = redis.Redis.from_url(url)
        self.ttl = ttl
        self.prefix = prefix
        self.local = {}  # (channel, sid) -> (entry, notify): what this process renews
        self._heartbeat = None
        self.outage = Outage("Presence (Redis)", "channels list nobody, count 0, and joins are retried by the heartbeat")
        self._closed = False
        self._lock = threading.Lock()

    def _keys(self, channel):
        return f"{self.prefix}:{channel}", f"{self.prefix}:{channel}:meta"

    def close(self):
        """Stop renewing this process's subscriptions (they expire) and close the connection."""
        self.local.clear()
        self._closed = True
        self.redis.close()

    def join(self, channel, sid, meta, notify=False):
        entry = {"sid": sid, "joined_at": time.time(), **meta}
        self.local[(channel, sid)] = (entry, notify)
        self._ensure_heartbeat()
        try:
            self._write(self.redis.pipeline(transaction=False), channel, sid, entry).execute()
        except Exception as exc:
            self.outage.failed(exc)
        else:
            self.outage.succeeded()

    def _write(self, pipe, channel, sid, entry):
        key, meta_key = self._keys(channel)
        pipe.zadd(key, {sid: time.time() + self.ttl})
        pipe.hset(meta_key, sid, json.dumps(entry))
        pipe.expire(key, self.ttl * 2)
        pipe.expire(meta_key, self.ttl * 2)
        return pipe

    def leave(self, channel, sid):
        self.local.pop((channel, sid), None)
        key, meta_key = self._keys(channel)
        try:
            pipe = self.redis.pipeline(transaction=False)
            pipe.hget(meta_key, sid)
            pipe.zrem(key, sid)
            pipe.hdel(meta_key, sid)
            raw, removed, _ = pipe.execute()
        except Exception as exc:
            self.outage.failed(exc)
            return None
        self.outage.succeeded()
        return _strip(json.loads(raw)) if removed and raw else None

    def release(self, channel, sid):
        """Stop renewing ``sid`` without removing it (a drain closed it): it expires after ``PRESENCE_TTL``.

        Its client reconnects, to another process, within seconds: until
        then it is still listed, and nobody is told it left. Once expired,
        a heartbeat removes it and broadcasts its leave, as for a crashed
        process's subscriptions.
        """
        self.local.pop((channel, sid), None)

    def list(self, channel):
        key, meta_key = self._keys(channel)
        try:
            sids = self.redis.zrangebyscore(key, time.time(), "+inf")
            raws = self.redis.hmget(meta_key, sids) if sids else []
        except Exception as exc:
            self.outage.failed(exc)
            return []
        self.outage.succeeded()
        entries = [json.loads(raw) for raw in raws if raw]
        return [_strip(entry) for entry in sorted(entries, key=lambda e: e.get("joined_at", 0))]

    def count(self, channel):
        key, _ = self._keys(channel)
        try:
            count = self.redis.zcount(key, time.time(), "+inf")
        except Exception as exc:
            self.outage.failed(exc)
            return 0
        self.outage.succeeded()
        return count

    def mark_counted(self, channel, counted):
        """Note whether ``channel``'s subscribers were last told a count, for every process; return whether they were before."""
        key = f"{self.prefix}:{channel}:counted"
        try:
            if counted:
                before = self.redis.set(key, 1, ex=self.ttl * 2, get=True) is not None
            else:
                before = bool(self.redis.delete(key))
        except Exception as exc:
            self.outage.failed(exc)
            return False
        self.outage.succeeded()
        return before

    def refresh(self):
        """Renew this process's subscriptions and remove expired ones.

        Returns ``{channel: [entry, ...]}`` of the expired subscriptions this
        process removed, on channels where it has subscribers to notify.
        """
        local = dict(self.local)
        pipe = self.redis.pipeline(transaction=False)
        for (channel, sid), (entry, _notify) in local.items():
            self._write(pipe, channel, sid, entry)
        pipe.execute()
        expired = {}
        for channel in {channel for (channel, _sid), (_e, notify) in local.items() if notify}:
            key, meta_key = self._keys(channel)
            for sid in self.redis.zrangebyscore(key, "-inf", time.time()):
                raw = self.redis.hget(meta_key, sid)
                if self.redis.zrem(key, sid):  # only one process wins the removal
                    self.redis.hdel(meta_key, sid)
                    if raw:
                        expired.setdefault(channel, []).append(_strip(json.loads(raw)))
        return expired

    def _ensure_heartbeat(self):
        if self._heartbeat is None:
            with self._lock:
                if self._heartbeat is None:
                    self._heartbeat = threading.Thread(target=self._beat, name="presence-heartbeat", daemon=True)
                    self._heartbeat.start()

    def _beat(self):
        while True:
            time.sleep(self.ttl / 3)
            if self._closed:
                return
            try:
                expired = self.refresh()
            except Exception as exc:
                self.outage.failed(exc)
                continue
            self.outage.succeeded()
            for channel, leaves in expired.items():
                logger.info("Presence: %d expired subscription(s) removed from %r", len(leaves), channel, channel=channel)
                broadcast(channel, {"joins": [], "leaves": leaves}, event="presence_diff", history=False)


class _Pending:
    """What happened on one channel since the last tick: its changes in order, its newcomers, the hub to send through."""

    def __init__(self, hub):
        self.hub = hub
        #: ("joins" or "leaves", sid, entry), in the order they happened.
        self.changes = []
        #: sid -> (how many changes came before its join, which its presence_state told it; its hub).
        self.newcomers = {}


def _diff(changes):
    diff = {"joins": [], "leaves": []}
    for kind, _sid, entry in changes:
        diff[kind].append(entry)
    return diff


class PresenceTicks:
    """This process's presence events, coalesced per channel and sent once per ``PRESENCE_INTERVAL``.

    A newcomer receives ``presence_state`` as it subscribes (``presence_count``
    past ``PRESENCE_LIST_LIMIT``). Its join, and every leave, is noted
    (:meth:`joined`, :meth:`left`); a tick later, for each channel that
    changed:

    * up to ``PRESENCE_LIST_LIMIT`` subscriptions, the subscribers that were
      there before the tick receive one ``presence_diff`` with the tick's
      joins and leaves (a subscription that came and went within the tick is
      not mentioned), and each newcomer of the tick a ``presence_diff`` of
      what changed after its ``presence_state``, if anything did;
    * past ``PRESENCE_LIST_LIMIT``, every subscriber receives one
      ``presence_count`` (``{"count": n}``) instead, and no list is sent;
    * when a channel falls back to the limit or below, every subscriber
      receives ``presence_state``, so everyone ends with the exact list.

    With several processes each sends its own subscribers' changes, to
    every process's subscribers. With ``PRESENCE_INTERVAL`` 0 or ``None``, or
    in a process that gevent has not patched (the test client), nothing is
    coalesced: the others receive a ``presence_diff`` at once, for each join
    and leave.
    """

    def __init__(self):
        self.pending = {}
        self.timer = None

    @staticmethod
    def coalescing():
        """Whether changes wait for a tick (``PRESENCE_INTERVAL`` set, in a gevent-patched process)."""
        return bool(views_settings.PRESENCE_INTERVAL) and monkey.is_module_patched("socket")

    @staticmethod
    def over_limit(count):
        """Whether a channel of ``count`` subscriptions gets counts, not lists."""
        limit = views_settings.PRESENCE_LIST_LIMIT
        return limit is not None and count > limit

    def joined(self, view, entry):
        """Tell subscription ``view``, which joined with ``entry`` (``{"sid", **meta}``), who is there; note its join for the others."""
        store = get_presence()
        if not self.coalescing():
            view.send({"presences": store.list(view.channel)}, event="presence_state")
            view.broadcast({"joins": [entry], "leaves": []}, event="presence_diff", include_self=False, history=False)
            return
        pending = self._pending(view)
        count = store.count(view.channel)
        if self.over_limit(count):
            store.mark_counted(view.channel, True)
            view.send({"count": count}, event="presence_count")
        else:
            view.send({"presences": store.list(view.channel)}, event="presence_state")
        pending.newcomers[view.sid] = (len(pending.changes), view.hub)
        pending.changes.append(("joins", view.sid, entry))

    def left(self, view, entry):
        """Note that subscription ``view`` left; ``entry`` is what the store removed."""
        if not self.coalescing():
            view.broadcast({"joins": [], "leaves": [entry]}, event="presence_diff", include_self=False, history=False)
            return
        pending = self._pending(view)
        pending.newcomers.pop(view.sid, None)
        pending.changes.append(("leaves", view.sid, entry))

    def _pending(self, view):
        pending = self.pending.get(view.channel)
        if pending is None:
            # The channel's hub, not the subscription's Outbox: a broadcast
            # must not wait for (or vanish with) one subscription's confirmation.
            pending = self.pending[view.channel] = _Pending(getattr(view.hub, "hub", view.hub))
        if self.timer is None:
            self.timer = gevent.spawn_later(views_settings.PRESENCE_INTERVAL, self.tick)
        return pending

    def tick(self):
        """Send what each changed channel's subscribers need to know (see the class)."""
        self.timer = None
        pending, self.pending = self.pending, {}
        for channel, changes in pending.items():
            try:
                self._send(channel, changes)
            except Exception:
                logger.exception("Presence events of %r failed", channel, channel=channel)

    def _send(self, channel, pending):
        store, hub = get_presence(), pending.hub
        count = store.count(channel)
        if self.over_limit(count):
            store.mark_counted(channel, True)
            hub.emit("presence_count", {"count": count}, channel=channel, history=False)
            return
        if store.mark_counted(channel, False):
            # Back to a list (whichever process sent the counts): everyone gets the whole of it.
            hub.emit("presence_state", {"presences": store.list(channel)}, channel=channel, history=False)
            return
        joined = {sid for kind, sid, _entry in pending.changes if kind == "joins"}
        left = {sid for kind, sid, _entry in pending.changes if kind == "leaves"}
        # Those who were there before the tick never saw who came and went within it.
        seen = [change for change in pending.changes if change[1] not in joined & left]
        if seen:
            hub.emit("presence_diff", _diff(seen), channel=channel, skip_sid=list(pending.newcomers) or None, history=False)
        for sid, (position, outbox) in pending.newcomers.items():
            after = pending.changes[position + 1:]
            if after:
                # Through its own Outbox: after its confirmation, even if that is late.
                outbox.emit("presence_diff", _diff(after), channel=channel, to=sid, history=False)

    def close(self):
        """Stop the pending tick; what it would have sent is dropped."""
        if self.timer is not None:
            self.timer.kill(block=False)
            self.timer = None
        self.pending.clear()


_ticks = ProcessWide(PresenceTicks, close=lambda ticks: ticks.close())


def get_presence_ticks():
    """This process's :class:`PresenceTicks`."""
    return _ticks.get()


def _strip(entry):
    entry.pop("joined_at", None)
    return entry


def make_presence():
    """A presence store from the settings: Redis when configured, else memory."""
    url = presence_url()
    return RedisPresence(url, views_settings.PRESENCE_TTL) if url else MemoryPresence()


_store = ProcessWide(make_presence, close=lambda store: store.close())


def get_presence():
    """This process's presence store: Redis when configured, else memory.

    It is created on first use, and created again from the settings after
    ``SOCKETIO_VIEWS`` changes and between tests.
    """
    return _store.get()
