"""
WebSocket messages read under a size limit, from gevent-websocket's sockets.

gevent-websocket reads a whole frame, then unmasks it and checks its UTF-8
byte by byte in Python, before anything may look at its size: one 50 MB
frame held the process for 16 seconds and grew it by 143 MB. :func:`receive`
reads the same frames, but refuses a message whose frame headers announce
more than the limit before reading their payload, and unmasks and decodes
in C::

    message = receive(ws, max_size=100_000)  # str, bytes, or None once closed

python-engineio's websocket driver calls it (see
:class:`socketio_views.transport.engine.ChannelEngineIOServer`), under
``runserver_socketio`` and gunicorn's ``GeventWebSocketWorker`` alike.
"""
import json
import struct
from socket import error as socket_error

from geventwebsocket.exceptions import ProtocolError, WebSocketError
from geventwebsocket.websocket import Header, WebSocket

from .exceptions import MessageTooLarge

#: WebSocket close codes (RFC 6455, section 7.4.1; 1013 registered by IANA).
NORMAL_CLOSURE = 1000
PROTOCOL_ERROR = 1002
INVALID_DATA = 1007
POLICY_VIOLATION = 1008
MESSAGE_TOO_BIG = 1009
TRY_AGAIN_LATER = 1013

#: The most bytes a close frame's reason may hold.
MAX_REASON = 123

DATA_OPCODES = (WebSocket.OPCODE_TEXT, WebSocket.OPCODE_BINARY)


def receive(ws, max_size):
    """Return the next message of gevent-websocket's ``ws``: ``str`` (text) or ``bytes``; ``None`` once closed.

    Like ``ws.receive()``, except that a message whose frames announce more
    than ``max_size`` bytes in all closes the socket with code 1009 and
    raises :exc:`~socketio_views.exceptions.MessageTooLarge`, before its
    payload is read. Invalid UTF-8 closes with 1007, a protocol error with
    1002, as gevent-websocket does (and with the code in the close frame,
    which gevent-websocket leaves out).
    """
    if ws.closed:
        raise WebSocketError("Connection is already closed")
    try:
        return _read_message(ws, max_size)
    except MessageTooLarge as error:
        close(ws, MESSAGE_TOO_BIG, error)
        raise
    except UnicodeError:
        close(ws, INVALID_DATA)
    except ProtocolError:
        close(ws, PROTOCOL_ERROR)
    except socket_error:
        close(ws, NORMAL_CLOSURE)
    return None


def _read_message(ws, max_size):
    opcode = None
    message = bytearray()
    while True:
        header = Header.decode_header(ws.stream)
        if header.flags:
            raise ProtocolError("Reserved bits set in a frame header")
        if header.opcode in DATA_OPCODES:
            if opcode is not None:
                raise ProtocolError(f"A new message began (opcode {header.opcode}) before the last one ended")
            opcode = header.opcode
        elif header.opcode == WebSocket.OPCODE_CONTINUATION:
            if opcode is None:
                raise ProtocolError("A continuation frame without a message")
        elif header.opcode == WebSocket.OPCODE_PING:
            ws.handle_ping(header, _read_payload(ws, header))  # control frames carry at most 125 bytes
            continue
        elif header.opcode == WebSocket.OPCODE_PONG:
            _read_payload(ws, header)
            continue
        elif header.opcode == WebSocket.OPCODE_CLOSE:
            ws.handle_close(header, _read_payload(ws, header))
            return None
        else:
            raise ProtocolError(f"Unexpected opcode {header.opcode}")
        if len(message) + header.length > max_size:
            raise MessageTooLarge(f"Messages are limited to {max_size} bytes.")
        message += _read_payload(ws, header)
        if header.fin:
            break
    if opcode == WebSocket.OPCODE_TEXT:
        return message.decode("utf-8")  # strict: invalid UTF-8 raises UnicodeDecodeError
    return bytes(message)


def _read_payload(ws, header):
    if not header.length:
        return b""
    payload = ws.raw_read(header.length)
    if len(payload) != header.length:
        raise WebSocketError("Unexpected EOF reading frame payload")
    return unmask(payload, header.mask) if header.mask else payload


def unmask(payload, mask):
    """XOR ``payload`` with the 4-byte ``mask`` repeated, as one big-integer operation (in C, not byte by byte)."""
    length = len(payload)
    key = (mask * (length // 4 + 1))[:length]
    return (int.from_bytes(payload, "little") ^ int.from_bytes(key, "little")).to_bytes(length, "little")


def close(ws, code, error=None):
    """Close gevent-websocket's ``ws`` with a close frame carrying ``code`` and, as its reason, ``error``'s JSON.

    The reason is the error's JSON object, without its extra keys (then
    without its message) if it is longer than a close frame's 123 bytes.
    gevent-websocket's own ``close()`` sends a close frame without its code.
    """
    if ws.closed:
        return
    reason = b""
    if error is not None:
        for shape in (error.as_dict(), {"message": error.message, "code": error.code}, {"code": error.code}):
            reason = json.dumps(shape, separators=(",", ":")).encode()
            if len(reason) <= MAX_REASON:
                break
        reason = reason[:MAX_REASON]
    try:
        ws.send_frame(struct.pack("!H", code) + reason, WebSocket.OPCODE_CLOSE)
    except WebSocketError:
        pass  # the client is gone already
    # Closed, so that gevent-websocket's close() sends no second, codeless, close frame.
    ws.closed = True
    ws.close()
