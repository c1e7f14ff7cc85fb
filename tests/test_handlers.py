"""socketio_views.handlers: the request handler's own header parsing reads requests as gevent's does."""
import http.client
import io

import pytest
from gevent.pywsgi import headers_factory

from socketio_views.handlers import Headers, read_headers

PLAIN = {
    "a websocket upgrade": (
        b"Host: 127.0.0.1:8000\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: http://127.0.0.1:8000\r\n"
        b"Cookie: sessionid=abc; csrftoken=def\r\n\r\n"
    ),
    "repeated names in several cases": b"X-Forwarded-For: 1.1.1.1\r\nx-forwarded-for: 2.2.2.2\r\n\r\n",
    "spaces and tabs around values": b"A:value  \r\nB:\t \tv w\r\nC: \r\nD:\r\n\r\n",
    "a Latin-1 byte": b"X-Name: caf\xe9\r\n\r\n",
    "bare newlines": b"Host: a\nContent-Length: 3\n\n",
    "no header": b"\r\n",
    "a POST": b"Content-Type: text/plain;charset=UTF-8\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
    "the end of the stream before the blank line": b"Host: a\r\n",
}

UNUSUAL = {
    "a folded line": b"X-Long: one\r\n two\r\nHost: a\r\n\r\n",
    "a space before the colon": b"Host : a\r\nX: b\r\n\r\n",
    "a line without colon": b"Host: a\r\nnonsense\r\nX: b\r\n\r\n",
    "a bare carriage return": b"X-A: one\rX-B: two\r\nHost: a\r\n\r\n",
    "a name that is not a token": b"X(A): b\r\n\r\n",
    "a line too long": b"X: " + b"a" * 70_000 + b"\r\n\r\n",
}


def both(raw):
    """(ours, gevent's) messages for ``raw`` followed by a body, and what each left unread."""
    results = []
    for parse in (read_headers, headers_factory):
        stream = io.BytesIO(raw + b"BODY")
        results.append((parse(stream), stream.read()))
    return results


def observed(message, names):
    """What gevent's handler reads of a message."""
    return {
        "status": message.status,
        "lines": list(message.headers),
        "values": {name: message.get(name) for name in names},
        "getheader": message.getheader("content-length"),
        "typeheader": message.typeheader,
    }


@pytest.mark.parametrize("raw", list(PLAIN.values()) + list(UNUSUAL.values()), ids=list(PLAIN) + list(UNUSUAL))
def test_read_as_gevent_reads_them(raw):
    """Status, header lines, values by name in any case, and the bytes left for the body are gevent's."""
    (ours, ours_left), (theirs, theirs_left) = both(raw)
    names = ["host", "HOST", "x-forwarded-for", "a", "B", "c", "d", "x-name", "x-long", "x", "x-a", "absent"]
    assert observed(theirs, names) == observed(ours, names)
    assert theirs_left == ours_left
    for name in ("content-length", "X-Forwarded-For"):
        try:
            del theirs[name]
        except KeyError:
            pass
        del ours[name]
    assert list(theirs.headers) == list(ours.headers)


@pytest.mark.parametrize("raw", PLAIN.values(), ids=PLAIN.keys())
def test_plain_headers_are_parsed_directly(raw):
    assert isinstance(read_headers(io.BytesIO(raw)), Headers)


@pytest.mark.parametrize("raw", UNUSUAL.values(), ids=UNUSUAL.keys())
def test_anything_else_goes_to_gevents_parser(raw):
    assert not isinstance(read_headers(io.BytesIO(raw)), Headers)


def test_more_than_100_headers_are_refused_as_gevent_refuses_them():
    raw = b"".join(b"X-%d: v\r\n" % i for i in range(101)) + b"\r\n"
    for parse in (read_headers, headers_factory):
        with pytest.raises(http.client.HTTPException, match="more than 100 headers"):
            parse(io.BytesIO(raw))


# The handshake deadline, over a real server.

#: Idle TCP connections opened against a process that may open 1,024 files (the issue's probe).
IDLE_CONNECTIONS = 1_100


def open_idle_connections(url, count):
    """``count`` TCP connections to ``url``'s server that never send a byte (connected, or still connecting)."""
    import socket
    from urllib.parse import urlsplit

    address = urlsplit(url)
    sockets = []
    for _ in range(count):
        sock = socket.socket()
        sock.setblocking(False)
        sock.connect_ex((address.hostname, address.port))
        sockets.append(sock)
    return sockets


@pytest.mark.django_db(transaction=True)
def test_idle_tcp_connections_cannot_hold_the_descriptors():
    """1,100 TCP connections that never send a byte, against ``ulimit -n 1024`` and HANDSHAKE_TIMEOUT = 2: the server
    warns about the limit at start, closes them after the deadline, and a normal client then connects within 1 s."""
    import time

    import requests

    from socketio_views.testing import LiveServer

    with LiveServer(settings_module="tests.settings_descriptors") as server:
        assert "may open 1024 files (ulimit -n), too few for 4000 connections" in server.log()
        idle = open_idle_connections(server.url, IDLE_CONNECTIONS)
        try:
            time.sleep(2.5)
            started = time.monotonic()
            response = requests.get(server.url + "/socket.io/?EIO=4&transport=polling", timeout=5)
            elapsed = time.monotonic() - started
            assert 200 == response.status_code and response.text.startswith("0{"), response.text[:200]
            assert elapsed < 1, f"a normal client took {elapsed:.2f} s to connect"
            first = idle[0]
            first.setblocking(True)
            first.settimeout(2)
            assert b"" == first.recv(1), "the server did not close an idle connection"
        finally:
            for sock in idle:
                sock.close()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("key", ["!!!bad!!!", "abc", "dGhlIHNhbXBsZSBub25jZQ"])
def test_a_malformed_websocket_key_gets_400_without_a_traceback(live_channels_server, key):
    """An upgrade whose Sec-WebSocket-Key is not base64 is answered 400 Bad Request, and the server logs no traceback."""
    import socket
    import time
    from urllib.parse import urlsplit

    address = urlsplit(live_channels_server.url)
    mark = live_channels_server.mark()
    with socket.create_connection((address.hostname, address.port), timeout=5) as sock:
        sock.sendall(
            f"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: {address.netloc}\r\nConnection: Upgrade\r\n"
            f"Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {key}\r\n\r\n".encode()
        )
        assert sock.recv(4096).startswith(b"HTTP/1.1 400 ")
    time.sleep(0.3)
    assert "Traceback" not in "\n".join(live_channels_server.lines_since(mark))
