"""
The access log of ``runserver_socketio``: one line per HTTP request, as ``runserver`` prints it.

:class:`AccessLogHandler` is gevent-websocket's request handler whose
``log_request()`` logs each finished request through Django's
``django.server`` logger, with the message, the level and the ``extra``
fields of Django's own development server
(``django.core.servers.basehttp.WSGIRequestHandler.log_message``)::

    [30/Nov/2026 17:55:01] "GET /rooms/lobby/ HTTP/1.1" 200 1234

So the project's ``LOGGING`` for ``django.server`` applies, and Django's
default one prints it (coloured by status, on a terminal). It is logged at
the level of the WSGI server, so every request has its line whatever serves
it: Django's views, static files, the Socket.IO endpoint. A WebSocket request
is logged when its socket closes, with status 101. gevent's and
gevent-websocket's own access lines are not written, so none is printed twice.
"""
import logging
import time

from .handlers import LeanWebSocketHandler
from .logs import FIELDS, SERVER_TIME_FORMAT
from .transport.environ import session_id_of

server_logger = logging.getLogger("django.server")


class AccessLogHandler(LeanWebSocketHandler):
    """:class:`~socketio_views.handlers.LeanWebSocketHandler`, logging each request as Django's ``runserver`` does.

    The size logged is the response body's, as ``runserver`` logs it (gevent
    counts the status line and headers too).
    """

    body_length = 0

    def handle_one_response(self):
        self.body_length = 0
        return super().handle_one_response()

    def write(self, data):
        self.body_length += len(data)
        return super().write(data)

    def log_request(self):
        code = self._status_code()
        known = code.isdigit() and len(code) == 3
        level = logging.INFO
        if known and code[0] in "45":
            level = logging.ERROR if code[0] == "5" else logging.WARNING
        if not server_logger.isEnabledFor(level):
            return
        extra = {
            **dict.fromkeys(FIELDS),
            "connection_id": self._connection_id(),
            "request": self.socket,
            "server_time": time.strftime(SERVER_TIME_FORMAT),
        }
        if known:
            extra["status_code"] = int(code)
        server_logger.log(level, '"%s" %s %s', self.requestline or "", code, self.body_length, extra=extra)

    def _status_code(self):
        status = self.status
        if isinstance(status, bytes):
            # start_response() keeps the native string apart for logging.
            status = self._orig_status or status.decode("latin-1")
        return (str(status or "") or "000").split()[0]

    def _connection_id(self):
        """The Engine.IO session the request belongs to, if it names one (``sid`` in its query string)."""
        return session_id_of(getattr(self, "environ", None) or {})
