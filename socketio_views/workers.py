"""
gunicorn's gevent-websocket worker, with the lean Engine.IO path and the graceful drain.

Example usage::

    gunicorn --worker-class socketio_views.workers.GeventWebSocketWorker \\
        --graceful-timeout 30 myproject.wsgi

On SIGTERM (gunicorn's graceful shutdown: the arbiter's ``TERM``, a
``HUP`` reload or a container stop) gunicorn stops accepting connections on
this worker and waits up to ``graceful_timeout`` for the open ones to end;
this worker also drains (:mod:`socketio_views.drain`): it closes its
connections' transports over ``DRAIN_WINDOW`` seconds, so that their clients
reconnect to the other workers one after another, and exits once their
subscriptions are torn down. Keep ``graceful_timeout`` above ``DRAIN_WINDOW``
plus a few seconds, or gunicorn kills the remaining connections at once.
"""
import gevent
from geventwebsocket.gunicorn.workers import GeventWebSocketWorker as BaseWorker

from .handlers import LeanWebSocketHandler, with_request_head_timeout

# Nothing of Django here: gunicorn's arbiter imports the worker class before
# the worker patches the standard library, and Django must be imported after.


class GeventWebSocketWorker(BaseWorker):
    """``geventwebsocket.gunicorn.workers.GeventWebSocketWorker`` that drains on SIGTERM and serves Engine.IO by the lean path.

    Its connections are read through a small buffer
    (:class:`~socketio_views.handlers.LeanWebSocketHandler`), must send their
    request heads within ``HANDSHAKE_TIMEOUT``, and ``ulimit -n`` is checked
    against ``worker_connections`` at start; password hashing runs in threads
    and long holds of the hub are reported (:func:`socketio_views.hub.prepare_hub`).
    """

    wsgi_handler = LeanWebSocketHandler

    def load_wsgi(self):
        super().load_wsgi()
        from .conf import views_settings
        from .hub import prepare_hub
        from .tuning import check_descriptor_budget
        from .wsgi import SocketIOApplication

        self.wsgi = SocketIOApplication.wrap(self.wsgi)
        self.wsgi_handler = with_request_head_timeout(self.wsgi_handler, views_settings.HANDSHAKE_TIMEOUT)
        check_descriptor_budget(self.cfg.worker_connections)
        prepare_hub()

    def run(self):
        """Serve until SIGTERM, wait for the open connections as gunicorn does, then for the drain's teardowns."""
        super().run()
        from . import drain
        from .logs import logger

        # The last clients may have closed their WebSockets (which ends
        # gunicorn's wait) before their subscriptions were torn down.
        if drain.state.sent.is_set() and not drain.wait(self.cfg.graceful_timeout, shut=False):
            logger.warning("Stopping before the drain is over: %d teardown(s) unfinished", drain.state.tearing_down)

    def handle_exit(self, sig, frame):
        super().handle_exit(sig, frame)
        from . import drain

        # Out of the signal handler, which may interrupt the event loop itself.
        gevent.spawn(drain.start)
