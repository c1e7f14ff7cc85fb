"""
gevent-websocket's request handler with a small read buffer per connection and quick header parsing.

gevent's WSGI server reads each connection through a buffered file of 8 KB
(``io.DEFAULT_BUFFER_SIZE``), which a WebSocket keeps for as long as it is
open, though an idle socket reads nothing and a chat message is a few hundred
bytes. :class:`LeanWebSocketHandler` reads through a buffer of
:attr:`~LeanWebSocketHandler.read_buffer_size` bytes instead: about 3 KB less
memory per idle connection. A request, or a message, longer than the buffer
is read in several calls (reads longer than the buffer bypass it).

It also reads request headers without the ``email`` package, which gevent
uses through ``http.client.parse_headers()`` and which took about a twelfth
of the server's time while clients connected. The common headers (one
``Name: value`` line each) are parsed directly; a request with anything else
(a folded line, a name that is not an HTTP token, a bare carriage return, a
line over 64 KB, more than 100 headers) is parsed by gevent's own parser,
as before.

A connection must send a complete request head (its request line and
headers: the Engine.IO handshake, or the next request on a kept-alive
connection) within :attr:`~LeanWebSocketHandler.request_head_timeout`
seconds, or it is closed without a response: TCP connections that send
nothing, or a byte now and then, cannot hold the process's file
descriptors. ``runserver_socketio`` and the gunicorn worker set it from
``SOCKETIO_VIEWS['HANDSHAKE_TIMEOUT']`` (:func:`with_request_head_timeout`).

``runserver_socketio`` (:class:`socketio_views.access.AccessLogHandler`) and
:class:`socketio_views.workers.GeventWebSocketWorker` use it. Under another
gevent server::

    from gevent import pywsgi
    from socketio_views.handlers import LeanWebSocketHandler

    server = pywsgi.WSGIServer(("", 8000), application, handler_class=LeanWebSocketHandler)
"""
import base64
import io
import re

import gevent
from gevent.pywsgi import headers_factory
from geventwebsocket.handler import WebSocketHandler

#: A header name: an HTTP token (RFC 9110).
TOKEN_RE = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")

#: The limits of ``http.client.parse_headers()``: bytes per line, lines per request.
MAX_LINE = 65536
MAX_HEADERS = 100


class Headers:
    """A request's headers, as gevent's handler reads them from ``http.client``'s message (the part it uses)."""

    status = ""

    def __init__(self, fields):
        #: ``[(name, value), ...]`` in the request's order.
        self.fields = fields

    def get(self, name, default=None):
        """The value of the first header ``name`` (any case), or ``default``."""
        name = name.lower()
        for key, value in self.fields:
            if key.lower() == name:
                return value
        return default

    getheader = get

    def __delitem__(self, name):
        name = name.lower()
        self.fields = [(key, value) for key, value in self.fields if key.lower() != name]

    @property
    def headers(self):
        """Each header as a ``"Name: value\\r\\n"`` line."""
        for key, value in self.fields:
            yield f"{key}: {value}\r\n"

    @property
    def typeheader(self):
        return self.get("content-type")


def read_headers(rfile):
    """The headers of the request being read from ``rfile``: a :class:`Headers`, or gevent's own message.

    Reads up to and including the blank line that ends them, as
    ``http.client.parse_headers()`` does, and hands anything but plain
    ``Name: value`` lines to it (through gevent), so that such requests are
    read exactly as before.
    """
    lines = []
    fields = []
    plain = True
    while True:
        line = rfile.readline(MAX_LINE + 1)
        lines.append(line)
        if len(line) > MAX_LINE or len(lines) > MAX_HEADERS:
            return headers_factory(io.BytesIO(b"".join(lines)))
        if line in (b"\r\n", b"\n", b""):
            break
        if not plain:
            continue
        text = line.decode("iso-8859-1")
        name, colon, value = text.partition(":")
        value = value.rstrip("\r\n").lstrip(" \t")
        if not colon or not TOKEN_RE.fullmatch(name) or "\r" in value:
            plain = False
            continue
        fields.append((name, value))
    return Headers(fields) if plain else headers_factory(io.BytesIO(b"".join(lines)))


class LeanWebSocketHandler(WebSocketHandler):
    """``geventwebsocket.handler.WebSocketHandler`` reading its connection through a buffer of ``read_buffer_size`` bytes, and its headers with :func:`read_headers`."""

    #: Bytes of the buffer each connection is read through (gevent's default is 8,192).
    read_buffer_size = 1024

    #: Seconds a connection may take to send a request's line and headers (``None``: no limit).
    request_head_timeout = 10

    _head_deadline = None

    def __init__(self, sock, address, server, rfile=None):
        if rfile is None:
            rfile = sock.makefile("rb", self.read_buffer_size)
        super().__init__(sock, address, server, rfile)

    def MessageClass(self, rfile, *args):  # noqa: N802 (gevent's name)
        return read_headers(rfile)

    def handle_one_request(self):
        try:
            return super().handle_one_request()
        except gevent.Timeout as timeout:
            if timeout is not self._head_deadline:
                raise
            return None  # closed quietly: an idle or trickling connection is not an error to log
        finally:
            self._cancel_head_deadline()

    def read_requestline(self):
        if self.request_head_timeout is not None:
            self._head_deadline = gevent.Timeout.start_new(self.request_head_timeout)
        return super().read_requestline()

    def read_request(self, raw_requestline):
        try:
            return super().read_request(raw_requestline)
        finally:
            # The head is read: the application may take as long as it needs (a long poll, a WebSocket).
            self._cancel_head_deadline()

    def upgrade_connection(self):
        # gevent-websocket catches a Python 2 TypeError around decoding the
        # key; Python 3 raises binascii.Error (a ValueError): HTTP 500 and a
        # traceback for any client that sends a malformed key.
        key = self.environ.get("HTTP_SEC_WEBSOCKET_KEY", "").strip()
        if key:
            try:
                base64.b64decode(key)
            except ValueError:
                self.start_response("400 Bad Request", [("Content-Type", "text/plain")])
                return [b"Invalid Sec-WebSocket-Key"]
        return super().upgrade_connection()

    def _cancel_head_deadline(self):
        if self._head_deadline is not None:
            self._head_deadline.close()
            self._head_deadline = None


def with_request_head_timeout(handler_class, seconds):
    """A subclass of ``handler_class`` (a :class:`LeanWebSocketHandler`) whose ``request_head_timeout`` is ``seconds``."""
    return type(handler_class.__name__, (handler_class,), {"request_head_timeout": seconds, "__module__": handler_class.__module__})
