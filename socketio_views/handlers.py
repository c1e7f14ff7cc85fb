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

``runserver_socketio`` (:class:`socketio_views.access.AccessLogHandler`) and
:class:`socketio_views.workers.GeventWebSocketWorker` use it. Under another
gevent server::

    from gevent import pywsgi
    from socketio_views.handlers import LeanWebSocketHandler

    server = pywsgi.WSGIServer(("", 8000), application, handler_class=LeanWebSocketHandler)
"""
import io
import re

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

    def __init__(self, sock, address, server, rfile=None):
        if rfile is None:
            rfile = sock.makefile("rb", self.read_buffer_size)
        super().__init__(sock, address, server, rfile)

    def MessageClass(self, rfile, *args):  # noqa: N802 (gevent's name)
        return read_headers(rfile)
