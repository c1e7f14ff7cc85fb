"""
Process tuning for a server that holds thousands of long-lived sockets.

``runserver_socketio`` calls :func:`tune_for_serving` just before it serves.
Under gunicorn, this module is also a configuration whose ``post_worker_init``
hook calls it: ``gunicorn --config python:socketio_views.tuning ...``, or, in
a ``gunicorn.conf.py`` of your own::

    from socketio_views.tuning import post_worker_init  # noqa: F401
"""
import gc
import os

import gevent

#: The environment variable through which gevent's own setting, when given, wins.
GREENLET_TREE_ENV = "GEVENT_TRACK_GREENLET_TREE"


def tune_for_serving():
    """Tune this process for many idle sockets and short garbage-collection pauses; call it once, just before serving.

    * gevent stops recording each greenlet's spawning stack (up to 10 frames
      per greenlet, kept as long as the socket is open), unless
      ``GEVENT_TRACK_GREENLET_TREE`` is set in the environment;
    * what start-up created (modules, settings, the URLconf) is left out of
      later garbage collections (:func:`gc.freeze`): a full collection walks
      every tracked object, and every socket of the process waits while it runs.
    """
    if GREENLET_TREE_ENV not in os.environ:
        gevent.config.track_greenlet_tree = False
    gc.collect()
    gc.freeze()


def post_worker_init(worker):
    """gunicorn's hook, run in each worker once it has loaded the application: :func:`tune_for_serving`."""
    tune_for_serving()
