"""
Rate limits on the ``limits`` package: its rate strings, window strategies and storages.

Example usage::

    limiter = RateLimiter.get("10/s", burst=20)
    allowed, retry_after = limiter.hit("sub:abc")

The storage is in-memory (one process) unless ``SOCKETIO_VIEWS["RATE_LIMIT_STORAGE"]``
names another ``limits`` storage, such as ``"redis://127.0.0.1:6379/0"``, or
the ``BACKEND`` is Redis: then the limits are cluster-wide.
"""
import math
import re
import time

import gevent
import limits
from gevent import monkey
from django.core.exceptions import ImproperlyConfigured

from .backends import rate_limit_storage_url
from .outages import Outage
from .state import ProcessWide

UNITS = {"s": "second", "m": "minute", "h": "hour", "d": "day"}
SHORT_RATE_RE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([smhd])\s*$")
STRATEGIES = {
    "moving-window": limits.strategies.MovingWindowRateLimiter,
    "sliding-window-counter": limits.strategies.SlidingWindowCounterRateLimiter,
    "fixed-window": limits.strategies.FixedWindowRateLimiter,
}


def parse_rate(rate, burst=None):
    """Return the ``limits`` item for ``rate`` (``"10/s"``, ``"5/2m"`` or any ``limits`` string).

    With ``burst``, the window is stretched so that ``burst`` events may
    arrive at once while the sustained rate stays the same: ``"10/s"`` with
    ``burst=30`` is 30 events per 3 seconds.
    """
    match = SHORT_RATE_RE.match(rate) if isinstance(rate, str) else None
    text = f"{match[1]} per {match[2] or 1} {UNITS[match[3]]}" if match else rate
    try:
        item = limits.parse(text)
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(
            f"Invalid rate {rate!r}: use 'N/s', 'N/m', 'N/h' or 'N/d' (e.g. '10/s'), "
            f"or a limits string such as '10 per 2 seconds'. ({exc})"
        ) from None
    if burst is None:
        return item
    if burst < item.amount:
        raise ImproperlyConfigured(f"rate_limit_burst ({burst}) must be at least the rate's amount ({item.amount}).")
    seconds = item.get_expiry() * burst / item.amount
    return limits.RateLimitItemPerSecond(burst, max(1, math.ceil(seconds)))


class RateLimiter:
    """One rate, applied with one strategy to keys in the configured storage."""

    def __init__(self, item, strategy):
        self.item = item
        self.strategy = strategy

    @classmethod
    def storage(cls):
        """The process's ``limits`` storage, from ``RATE_LIMIT_STORAGE``."""
        return _limiters.get().storage

    @classmethod
    def get(cls, rate, burst=None, strategy="moving-window"):
        """Return the (cached) limiter for a rate, burst and strategy name."""
        limiters = _limiters.get()
        key = (rate, burst, strategy)
        limiter = limiters.cache.get(key)
        if limiter is None:
            if strategy not in STRATEGIES:
                raise ImproperlyConfigured(f"Unknown rate_limit_strategy {strategy!r}; use one of {sorted(STRATEGIES)}.")
            limiter = limiters.cache[key] = cls(parse_rate(rate, burst), STRATEGIES[strategy](limiters.storage))
        return limiter

    def hit(self, key):
        """Count one event for ``key``; return ``(allowed, retry_after_seconds)``.

        When the storage is unreachable (Redis down) the event is allowed and
        a warning logged: an outage must not silence every channel.
        """
        outage = _limiters.get().outage
        try:
            if self.strategy.hit(self.item, key):
                outage.succeeded()
                return True, None
        except Exception as exc:
            outage.failed(exc)
            return True, None
        outage.succeeded()
        reset_time = self.strategy.get_window_stats(self.item, key).reset_time
        return False, max(0.0, round(reset_time - time.time(), 3))

    @classmethod
    def reset(cls):
        """Forget the storage and limiters; in-memory counts start again from zero.

        This happens by itself when ``SOCKETIO_VIEWS`` changes and between
        tests (see :doc:`/testing`).
        """
        _limiters.reset()


class GeventExpiry:
    """Stands in for the timer of ``limits``' in-memory storage in a gevent-patched process.

    That storage starts a ``threading.Timer`` (here, a greenlet) for its
    expiry pass whenever the last one has run, at most every 10 ms, and
    ``Thread.start()`` waits until the new one runs: behind every greenlet
    ready before it. A rate-limited event waited seconds so while a crowd
    subscribed. This runs the same pass with ``gevent.spawn_later``, started
    without waiting.
    """

    def __init__(self, function, interval=0.01):
        self.function = function
        self.interval = interval
        self._pending = None

    def is_alive(self):
        """Schedule the next expiry pass if none is pending; ``True``, so that the storage starts no thread."""
        if self._pending is None or self._pending.dead:
            self._pending = gevent.spawn_later(self.interval, self.function)
        return True

    def cancel(self):
        """Drop the pending pass."""
        if self._pending is not None:
            self._pending.kill(block=False)


def without_timer_threads(storage):
    """Give ``limits``' in-memory ``storage`` a :class:`GeventExpiry` when gevent has patched threading; return it."""
    timer = getattr(storage, "timer", None)
    if isinstance(storage, limits.storage.MemoryStorage) and monkey.is_module_patched("threading") and timer is not None:
        storage.timer = GeventExpiry(timer.function, timer.interval)
    return storage


class _Limiters:
    def __init__(self):
        self.storage = without_timer_threads(limits.storage.storage_from_string(rate_limit_storage_url()))
        self.cache = {}
        self.outage = Outage("Rate limit storage", "events are allowed without counting")


_limiters = ProcessWide(_Limiters)
