"""
gevent-websocket's request handler with a small read buffer per connection.

gevent's WSGI server reads each connection through a buffered file of 8 KB
(``io.DEFAULT_BUFFER_SIZE``), which a WebSocket keeps for as long as it is
open, though an idle socket reads nothing and a chat message is a few hundred
bytes. :class:`LeanWebSocketHandler` reads through a buffer of
:attr:`~LeanWebSocketHandler.read_buffer_size` bytes instead: about 3 KB less
memory per idle connection. A request, or a message, longer than the buffer
is read in several calls (reads longer than the buffer bypass it).

``runserver_socketio`` (:class:`socketio_views.access.AccessLogHandler`) and
:class:`socketio_views.workers.GeventWebSocketWorker` use it. Under another
gevent server::

    from gevent import pywsgi
    from socketio_views.handlers import LeanWebSocketHandler

    server = pywsgi.WSGIServer(("", 8000), application, handler_class=LeanWebSocketHandler)
"""
from geventwebsocket.handler import WebSocketHandler


class LeanWebSocketHandler(WebSocketHandler):
    """``geventwebsocket.handler.WebSocketHandler`` reading its connection through a buffer of ``read_buffer_size`` bytes."""

    #: Bytes of the buffer each connection is read through (gevent's default is 8,192).
    read_buffer_size = 1024

    def __init__(self, sock, address, server, rfile=None):
        if rfile is None:
            rfile = sock.makefile("rb", self.read_buffer_size)
        super().__init__(sock, address, server, rfile)
