"""
Process tuning for a server that holds thousands of long-lived sockets.

``runserver_socketio`` calls :func:`tune_for_serving` just before it serves.
Under gunicorn, call it from the worker's ``post_worker_init`` hook in
``gunicorn.conf.py``::

    from socketio_views.tuning import tune_for_serving

    def post_worker_init(worker):
        tune_for_serving()
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
