"""
Process tuning for a server that holds thousands of long-lived sockets.

``runserver_socketio`` calls :func:`tune_for_serving` just before it serves.
Under gunicorn, this module is also a configuration whose ``post_worker_init``
hook calls it, and whose ``child_exit`` hook keeps Prometheus gauges right
(:mod:`socketio_views.metrics`): ``gunicorn --config python:socketio_views.tuning ...``,
or, in a ``gunicorn.conf.py`` of your own::

    from socketio_views.tuning import child_exit, post_worker_init  # noqa: F401
"""
import gc
import os

import gevent

from .logs import logger

#: The environment variable through which gevent's own setting, when given, wins.
GREENLET_TREE_ENV = "GEVENT_TRACK_GREENLET_TREE"

#: Python's default garbage-collection thresholds (:func:`gc.get_threshold`):
#: 3.11's and 3.12's, then 3.13's.
PYTHON_GC_THRESHOLDS = ((700, 10, 10), (2000, 10, 10))

#: The thresholds :func:`tune_for_serving` sets instead: a young collection
#: every 50,000 net allocations rather than 700, an older one every 20 of them.
GC_THRESHOLDS = (50_000, 20, 10)


def tune_for_serving():
    """Tune this process for many idle sockets and short garbage-collection pauses; call it once, just before serving.

    * gevent stops recording each greenlet's spawning stack (up to 10 frames
      per greenlet, kept as long as the socket is open), unless
      ``GEVENT_TRACK_GREENLET_TREE`` is set in the environment;
    * what start-up created (modules, settings, the URLconf) is left out of
      later garbage collections (:func:`gc.freeze`): a full collection walks
      every tracked object, and every socket of the process waits while it runs;
    * garbage is collected less often (:data:`GC_THRESHOLDS`, unless the
      project changed Python's default thresholds itself): each connection keeps
      about a hundred objects alive, which every collection of the older
      generations walks again, and with Python's thresholds a server that
      accepts thousands of connections spent a third of its time there.
      Objects that only a reference cycle keeps alive wait longer to be
      freed (up to 50,000 allocations), a few megabytes at most.
    """
    if GREENLET_TREE_ENV not in os.environ:
        gevent.config.track_greenlet_tree = False
    gc.collect()
    gc.freeze()
    if gc.get_threshold() in PYTHON_GC_THRESHOLDS:
        gc.set_threshold(*GC_THRESHOLDS)


#: File descriptors a process needs besides its connections' (database, Redis, logs, modules).
SPARE_DESCRIPTORS = 64
#: Connections ``runserver_socketio`` plans for when it checks ``ulimit -n``.
EXPECTED_CONNECTIONS = 4000


def check_descriptor_budget(connections=EXPECTED_CONNECTIONS):
    """Raise this process's limit of open files (``ulimit -n``) to its hard limit; warn if it is below ``connections``.

    Each connection holds a file descriptor; once they run out, the server
    accepts no one, whoever asks. Returns the soft limit in force, or
    ``None`` where the platform has none (Windows).
    """
    try:
        import resource
    except ImportError:
        return None
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        wanted = connections + SPARE_DESCRIPTORS
        target = wanted if hard == resource.RLIM_INFINITY else min(hard, max(soft, wanted))
        if target > soft:
            try:
                resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
                soft = target
            except (ValueError, OSError):
                pass
    if soft != resource.RLIM_INFINITY and soft < connections + SPARE_DESCRIPTORS:
        logger.warning(
            "This process may open %d files (ulimit -n), too few for %d connections: past about %d, new "
            "connections fail for everyone. Raise the limit (ulimit -n, LimitNOFILE= in systemd, "
            "--ulimit nofile= in Docker).",
            soft, connections, max(soft - SPARE_DESCRIPTORS, 0),
        )
    return soft


def post_worker_init(worker):
    """gunicorn's hook, run in each worker once it has loaded the application: :func:`tune_for_serving`."""
    tune_for_serving()


def child_exit(server, worker):
    """gunicorn's hook, run in the master when a worker exits: drop its live Prometheus gauges.

    In prometheus-client's multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``
    set), ``socketio_views_connections`` and ``socketio_views_subscriptions``
    would otherwise keep counting what a dead worker held. Nothing is
    imported before a worker exits: the master stays free of Django and
    prometheus-client, which the workers import after gevent patched.
    """
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return
    try:
        from prometheus_client import multiprocess
    except ImportError:
        return
    multiprocess.mark_process_dead(worker.pid)
