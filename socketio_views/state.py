"""
Process-wide objects with one lifecycle: created on first use, dropped when
``SOCKETIO_VIEWS`` changes and between tests.

The socket server, the presence store, the rate-limit storage and the
write-only backend manager are each a :class:`ProcessWide`::

    _presence = ProcessWide(make_presence, close=close_presence)
    _presence.get()      # created from the settings on first use
    _presence.reset()    # the next get() creates it again
"""
import collections
import threading

from django.core.signals import setting_changed

from .conf import SETTING_NAME

_everything = []


class ProcessWide:
    """One lazily created object per process.

    :param factory: called without arguments to create the object.
    :param close: called with the object when it is dropped (stop threads,
        close connections), if given.
    :param keep_between_tests: the test hub leaves it in place (the socket
        server: tests never serve sockets in their own process).
    """

    def __init__(self, factory, *, close=None, keep_between_tests=False):
        self.factory = factory
        self.close = close
        self.keep_between_tests = keep_between_tests
        self._value = None
        self._lock = threading.Lock()
        _everything.append(self)

    def get(self):
        """The object, created on first use."""
        value = self._value
        if value is None:
            with self._lock:
                if self._value is None:
                    self._value = self.factory()
                value = self._value
        return value

    def exists(self):
        """Whether the object has been created (and not dropped since)."""
        return self._value is not None

    def reset(self):
        """Drop the object; the next :meth:`get` creates it again from the settings."""
        with self._lock:
            value, self._value = self._value, None
        if value is not None and self.close is not None:
            self.close(value)


def reset_process_state(*, between_tests=False):
    """Drop every process-wide object (with ``between_tests``, all but those kept between tests)."""
    for instance in _everything:
        if not (between_tests and instance.keep_between_tests):
            instance.reset()


def _reset_on_setting_change(*, setting, **kwargs):
    if setting == SETTING_NAME:
        reset_process_state()


setting_changed.connect(_reset_on_setting_change)


class LRU:
    """A mapping that keeps its last ``size`` keys used, forgetting the least recently used: per-name memory with a bound.

    Example usage::

        policies = LRU(1024)
        policies.put("rooms/lobby", policy)
        known, policy = policies.get("rooms/lobby")
    """

    def __init__(self, size):
        self.size = size
        self._items = collections.OrderedDict()

    def get(self, key):
        """``(True, value)`` if ``key`` is kept (now the most recently used), else ``(False, None)``."""
        try:
            self._items.move_to_end(key)
        except KeyError:
            return False, None
        return True, self._items[key]

    def put(self, key, value):
        """Keep ``value`` for ``key``; past ``size`` keys, forget the least recently used."""
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def __len__(self):
        return len(self._items)
