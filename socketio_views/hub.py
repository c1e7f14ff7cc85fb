"""
What keeps gevent's hub free: CPU-heavy calls in threads, and long holds reported.

Django views and sockets share one gevent hub in ``runserver_socketio`` and in
:class:`socketio_views.workers.GeventWebSocketWorker`: while one greenlet
computes, no other socket of the process is served. Both call
:func:`prepare_hub` before they serve, which

* runs Django's password hashing in a pool of threads
  (:func:`offload_password_hashing`, the ``PASSWORD_HASHING_IN_THREADS``
  setting): hashlib's PBKDF2, bcrypt, argon2 and scrypt release the GIL, so
  the hub keeps serving while a login is checked;
* starts gevent's hub monitor (:func:`watch_hub`, the ``MAX_BLOCKING_TIME``
  setting), which reports a greenlet that held the hub longer than that.

Example usage (one's own CPU-heavy call, in a view or a channel's handler)::

    from socketio_views.hub import run_in_thread

    thumbnail = run_in_thread(render_thumbnail, image)
"""
import functools
import os
import sys
import time
import warnings

import gevent
from django.conf import settings
from django.core.signals import setting_changed
from django.utils.module_loading import import_string
from gevent import events, monkey
from gevent.threadpool import ThreadPool

from .conf import views_settings
from .logs import logger
from .metrics import get_meter

#: The methods of a password hasher that compute a hash.
HASHER_METHODS = ("encode", "verify", "harden_runtime")

#: Marks a method that :func:`offload_password_hashing` wrapped.
OFFLOADED = "_socketio_views_in_thread"


def run_in_thread(function, *args, **kwargs):
    """Call ``function(*args, **kwargs)`` in gevent's thread pool and return its result; the calling greenlet waits, the others run.

    Worth it for a call that spends its time in C code releasing the GIL
    (hashlib, zlib, bcrypt, argon2, Pillow, lxml, NumPy): pure Python code
    holds the GIL, and a thread would only share it. In a process that gevent
    has not patched (a test run, a management command), or from a thread of
    the pool itself, the function is simply called. Exceptions propagate.
    """
    if not monkey.is_module_patched("socket"):
        return function(*args, **kwargs)
    return gevent.get_hub().threadpool.apply(function, args, kwargs)


#: Threads that hash passwords at once: every core but one, which the hub keeps.
HASHING_THREADS = max(1, (os.cpu_count() or 2) - 1)

_hashing_pool = None


def hashing_pool():
    """The thread pool of password hashing (:data:`HASHING_THREADS` threads), apart from gevent's own.

    gevent's pool also resolves host names: a flood of logins must not
    delay them, nor take every core from the hub. Made on first use, for
    the hub of the calling thread.
    """
    global _hashing_pool
    if _hashing_pool is None:
        _hashing_pool = ThreadPool(HASHING_THREADS)
    return _hashing_pool


def _in_thread(method):
    @functools.wraps(method)
    def in_thread(*args, **kwargs):
        if not monkey.is_module_patched("socket"):
            return method(*args, **kwargs)
        # A nested call (PBKDF2's verify calls encode) runs at once in the
        # pool's thread: ThreadPool.apply from a thread of the pool does that.
        return hashing_pool().apply(method, args, kwargs)

    setattr(in_thread, OFFLOADED, True)
    return in_thread


def hasher_classes():
    """The classes of the ``PASSWORD_HASHERS`` setting."""
    return [import_string(path) for path in settings.PASSWORD_HASHERS]


def offload_password_hashing():
    """Make Django's password hashers compute in threads (:func:`hashing_pool`), not on the hub.

    The ``encode``, ``verify`` and ``harden_runtime`` methods of the classes
    in ``PASSWORD_HASHERS`` (and of their bases that define them) are
    wrapped, so every path that hashes goes through a thread:
    :func:`~django.contrib.auth.hashers.check_password`,
    :func:`~django.contrib.auth.hashers.make_password`,
    ``User.check_password()`` / ``set_password()``, and the hash that
    ``ModelBackend`` computes for a username that does not exist. Hashers
    named later (a change of ``PASSWORD_HASHERS``) are wrapped too. Calling
    it again does nothing more.
    """
    global _offloading
    _offloading = True
    for hasher_class in hasher_classes():
        for klass in hasher_class.__mro__:
            for name in HASHER_METHODS:
                method = klass.__dict__.get(name)
                if callable(method) and not getattr(method, OFFLOADED, False):
                    setattr(klass, name, _in_thread(method))


_offloading = False


def _wrap_new_hashers(*, setting, **kwargs):
    if _offloading and setting == "PASSWORD_HASHERS":
        offload_password_hashing()


setting_changed.connect(_wrap_new_hashers)


# The hub monitor.


class HubHolds:
    """Greenlets seen holding the hub, reported once each hold is over.

    gevent's monitor thread calls :meth:`blocked` (through its
    ``EventLoopBlocked`` event) every ``max_blocking_time`` during which one
    greenlet ran without yielding. That thread only notes the hold and what
    runs (:func:`culprit`); the report (a warning of the ``socketio_views``
    logger and the ``socketio_views_hub_blocked_seconds`` metric) is written
    by the hub's thread, as soon as the hub runs again, so the hold's
    duration is known (from the loop's last iteration, :func:`hold_started`).
    """

    def __init__(self, period, hub=None):
        self.period = period
        #: The hub that serves the sockets: gevent starts a monitor for every
        #: hub (the threads' too), whose holds are not the sockets' to wait for.
        self.hub = hub
        self.greenlet = None
        self.started = None
        self.culprit = None

    def blocked(self, event):
        """gevent's event subscriber, in the monitor thread: note an ``EventLoopBlocked`` hold and what runs."""
        if not isinstance(event, events.EventLoopBlocked) or event.greenlet is self.greenlet:
            return
        if self.hub is not None and event.hub is not self.hub:
            return
        hub = event.hub
        self.greenlet = event.greenlet
        self.started = hold_started(hub.loop, self.period)
        frame = sys._current_frames().get(getattr(hub, "thread_ident", None))
        self.culprit = culprit(frame)
        # Runs in the hub's thread once the greenlet lets the hub run.
        hub.loop.run_callback_threadsafe(self.report)

    def report(self):
        """In the hub's thread, once the hold is over: log it and record its length."""
        if self.greenlet is None:
            return
        global _last_hold
        seconds = time.time() - self.started
        what = self.culprit
        self.greenlet = None
        if seconds < self.period:
            # The monitor thread, itself late on a loaded machine, saw the hub
            # between two iterations: no hold to report (nor to hide the last one).
            return
        _last_hold = {"what": what, "seconds": round(seconds, 2), "time": time.time()}
        logger.warning(
            "%s held the gevent hub for %.2f s: every socket of this process waited. "
            "Move CPU-heavy work to socketio_views.hub.run_in_thread() or off this process.",
            what,
            seconds,
        )
        get_meter().hub_blocked(seconds)


def hold_started(loop, period):
    """When the hold that gevent's monitor just reported began (a :func:`time.time`), read from the monitor thread.

    libev's loop (gevent's default on Linux) caches the time of its last
    iteration, which the hold has stopped: that time, to within the
    callbacks that ran before the holding greenlet in that iteration. With
    another loop, the monitor sees a hold one to two periods after it began.
    """
    if type(loop).__module__.startswith("gevent.libev"):
        return loop.now()
    return time.time() - 1.5 * period


#: Code of these functions calls the view (its local ``callback``).
VIEW_CALLERS = {("django.core.handlers.base", "_get_response")}


def culprit(frame):
    """Name what the frame's stack runs: a channel's handler, a Django view, or else the innermost frame of the project.

    Read from the code and the view resolved by Django's handler (the
    ``callback`` local of ``_get_response``), so it names the view whatever
    decorators wrap it.
    """
    handler = view = innermost = None
    while frame is not None:
        code = frame.f_code
        module = frame.f_globals.get("__name__", "")
        if handler is None and code.co_name.startswith("on_") and "." in code.co_qualname:
            handler = f"handler {module}.{code.co_qualname}"
        if view is None and (module, code.co_name) in VIEW_CALLERS:
            callback = frame.f_locals.get("callback")
            callback = getattr(callback, "view_class", callback)
            if callback is not None:
                view = f"view {callback.__module__}.{callback.__qualname__}"
        if innermost is None and not module.startswith(("gevent", "django", "socketio", "engineio", "greenlet")):
            innermost = f"{module}.{code.co_qualname} ({code.co_filename}:{frame.f_lineno})"
        frame = frame.f_back
    return handler or view or innermost or "A greenlet"


_holds = None
_last_hold = None


def last_hold():
    """The last hold of the hub this process reported: ``{"what", "seconds", "time"}`` (``time`` a :func:`time.time`), or ``None``.

    The live channels page shows it for each process.
    """
    return _last_hold


def watch_hub(max_blocking_time=None):
    """Start gevent's hub monitor, reporting each hold of the hub longer than ``max_blocking_time`` seconds.

    ``max_blocking_time`` defaults to the ``MAX_BLOCKING_TIME`` setting;
    ``None`` there leaves the monitor off. gevent's own report (every
    greenlet's stack, on stderr) is not printed; the ``socketio_views``
    logger writes one warning per hold instead. Call it once, in the
    serving process, before serving.
    """
    global _holds
    if max_blocking_time is None:
        max_blocking_time = views_settings.MAX_BLOCKING_TIME
    if max_blocking_time is None or _holds is not None:
        return
    gevent.config.max_blocking_time = max_blocking_time
    gevent.config.print_blocking_reports = False
    gevent.config.monitor_thread = True
    _holds = HubHolds(max_blocking_time, gevent.get_hub())
    events.subscribers.append(_holds.blocked)
    with warnings.catch_warnings():
        # Memory is not what it watches (gevent's max_memory_usage is unset).
        warnings.filterwarnings("ignore", message="Unable to monitor memory usage")
        gevent.get_hub().start_periodic_monitoring_thread()


def prepare_hub():
    """What ``runserver_socketio`` and the gunicorn worker do before serving: hashing in threads, the hub monitor.

    Each follows its setting (``PASSWORD_HASHING_IN_THREADS``,
    ``MAX_BLOCKING_TIME``).
    """
    if views_settings.PASSWORD_HASHING_IN_THREADS:
        offload_password_hashing()
    watch_hub()

