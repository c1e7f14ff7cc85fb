"""
The WebSocket write path: each broadcast framed once, and written with as few system calls as it takes.

python-socketio encodes a broadcast once and hands the same Engine.IO packet
to each recipient. Past that point the work used to be per recipient:
gevent-websocket encoded the text to UTF-8 and built a frame header for each
one, and gevent's ``sendall`` asked the kernel for the socket's buffer size
(``getsockopt``) before every write, one system call as costly as the write
itself. Here:

* the packet's cached encoding becomes a :class:`Framed`: still its text for
  polling recipients, and its WebSocket frame, built on first use, for the
  others. Frames a server sends are not masked, so every WebSocket recipient
  gets the same bytes;
* a frame is written with one ``send()`` (:func:`write`), falling back to
  ``sendall`` only for what the socket did not take at once;
* a connection's writer that wakes up to several queued messages takes them as
  one :class:`FramedPacket` and writes them in one system call
  (:func:`batch`);
* a message for a connection whose writer is idle (nothing queued, the writer
  waiting) is written at once by its sender, without waking the writer
  (:func:`write_now`); what the socket does not take is queued for the writer.

What each connection is sent, and in what order, does not change: holds,
gates and slow-consumer bounds apply before any of this
(:mod:`socketio_views.transport.delivery`, :mod:`socketio_views.queues`).

Example usage::

    import engineio.packet
    from socketio_views.transport.writes import framed, prepare

    packet = engineio.packet.Packet(engineio.packet.MESSAGE, '2/rooms/lobby,["message","hi"]')
    prepare(packet)
    framed(packet).frame   # b'\\x81\\x1f42/rooms/lobby,["message","hi"]'
"""
import engineio.packet
import gevent
from geventwebsocket.websocket import Header, WebSocket

from ..logs import logger

MESSAGE = engineio.packet.MESSAGE

#: At most this many queued messages, and about this many bytes, are written in one system call.
MAX_BATCH_MESSAGES = 256
MAX_BATCH_BYTES = 256 * 1024


def text_frame(payload):
    """The unmasked WebSocket frame of ``payload`` (UTF-8 bytes) as one text message (gevent-websocket's header)."""
    return bytes(Header.encode_header(True, WebSocket.OPCODE_TEXT, b"", len(payload), 0)) + payload


class Framed(str):
    """An encoded Engine.IO packet (its text, for polling) that also carries its WebSocket frame.

    The frame is built on first use and then shared: by every WebSocket
    recipient of one broadcast.
    """

    _frame = None

    @classmethod
    def joined(cls, texts):
        """Several :class:`Framed` as one: their text as a polling payload joins them, their frames one after another."""
        joined = cls("\x1e".join(texts))
        joined._frame = b"".join([text.frame for text in texts])
        return joined

    @classmethod
    def raw(cls, frame):
        """Bytes of a frame written in part already (what a socket did not take): no text of its own."""
        raw = cls()
        raw._frame = frame
        return raw

    @property
    def frame(self):
        """This text's WebSocket frame (bytes)."""
        frame = self._frame
        if frame is None:
            frame = self._frame = text_frame(self.encode("utf-8"))
        return frame


def prepare(eio_pkt):
    """Make the cached encoding of Engine.IO text message ``eio_pkt`` a :class:`Framed` (once per packet, so per broadcast)."""
    if eio_pkt.encode_cache.__class__ is not Framed and eio_pkt.packet_type == MESSAGE and not eio_pkt.binary:
        eio_pkt.encode_cache = Framed(eio_pkt.encode())


def framed(eio_pkt):
    """The :class:`Framed` encoding of ``eio_pkt`` if :func:`prepare` made one, else ``None``."""
    cached = eio_pkt.encode_cache
    return cached if cached.__class__ is Framed else None


class FramedPacket(engineio.packet.Packet):
    """An Engine.IO message packet whose encoding is a given :class:`Framed`: a batch, or frames still to write."""

    def __init__(self, encoded, data=None):
        super().__init__(MESSAGE, data=str(encoded) if data is None else data)
        self.encode_cache = encoded

    @classmethod
    def unsent(cls, frames):
        """Bytes of frames to write as they are (their ``data``, so that queue bounds count them)."""
        return cls(Framed.raw(frames), data=frames)

    def encode(self, b64=False):
        return self.encode_cache


def batch(first, take_next):
    """``first`` and the framed messages that ``take_next()`` returns after it, as one packet.

    ``take_next()`` returns the next queued packet if it is a framed message,
    else ``None``; the batch stops there, or at :data:`MAX_BATCH_MESSAGES` or
    :data:`MAX_BATCH_BYTES`.
    """
    texts = [framed(first)]
    size = len(texts[0])
    while len(texts) < MAX_BATCH_MESSAGES and size < MAX_BATCH_BYTES:
        following = take_next()
        if following is None:
            break
        texts.append(framed(following))
        size += len(texts[-1])
    return first if len(texts) == 1 else FramedPacket(Framed.joined(texts))


#: Per gevent hub (one per thread), the queues whose messages wait for the end of its turn of the event loop.
_held = {}


def flush_later(queue):
    """Have ``queue.flush()`` called once this turn of gevent's event loop ends (every sender of the turn has sent)."""
    hub = gevent.get_hub()
    queues = _held.get(hub)
    if queues is None:
        # Not a threading.local: gevent's patching makes that one per greenlet.
        queues = _held[hub] = []
        hub.loop.run_callback(_flush, hub)
    queues.append(queue)


def _flush(hub):
    for queue in _held.pop(hub, ()):
        try:
            queue.flush()
        except Exception:
            logger.exception("Writing held messages failed")


def write(sock, data):
    """Write all of ``data`` to gevent socket ``sock``: one ``send()``, and ``sendall()`` for what it did not take."""
    sent = sock.send(data)
    if sent < len(data):
        sock.sendall(memoryview(data)[sent:])


def write_now(sock, data):
    """Write what gevent socket ``sock`` takes of ``data`` without waiting; return what is left (``b""`` when all went)."""
    try:
        sent = sock.send(data, 0, 0.0)
    except BlockingIOError:
        return data
    return data[sent:] if sent < len(data) else b""
