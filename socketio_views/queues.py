"""
What may wait to be sent to one connection, and what happens to a slow consumer.

Every packet for a connection waits in its Engine.IO queue until the
connection's writer (websocket) or its next GET (polling) takes it. A client
that stops reading would make that queue grow without bound, so it is bounded
by the ``MAX_QUEUED_BYTES`` and ``MAX_QUEUED_MESSAGES`` settings. A message
that does not fit is handled by the policy of the channel it was sent on
(:attr:`ChannelView.slow_consumer_policy <socketio_views.ChannelView.slow_consumer_policy>`):

* ``"disconnect"`` (the default): what is queued for the connection is
  discarded, the subscription receives an ``error`` event with code
  ``slow_consumer`` and the connection's transport is closed. The official
  client reconnects by itself and, on channels with history, recovers what
  it missed.
* ``"drop"``: the message is dropped for that connection, counted and logged
  (tickers, where the next value supersedes the last). A connection whose
  queue stays full for the ping timeout is disconnected all the same: pongs
  alone do not keep it.
"""
from engineio import packet as eio_packet
from engineio import payload as eio_payload
from gevent.queue import Empty

from .transport import writes

MESSAGE = eio_packet.MESSAGE

#: Packets in one long-polling response at most: python-engineio's client
#: refuses a payload of more (``Payload.max_decode_packets``) and stops.
POLLING_PAYLOAD_PACKETS = eio_payload.Payload.max_decode_packets

#: End the slow connection (the default).
DISCONNECT = "disconnect"
#: Drop what does not fit, keep the connection.
DROP = "drop"
POLICIES = (DISCONNECT, DROP)


class Overflow(Exception):
    """A message does not fit in its connection's queue."""


def metered_queue(queue_class, max_bytes, max_messages, empty=Empty):
    """A subclass of ``queue_class`` (python-engineio's queue) bounded by ``max_bytes`` and ``max_messages``.

    ``None`` leaves a bound off. Only messages (Socket.IO packets) are
    bounded; Engine.IO's own packets (ping, close, noop) always go in. One
    long-polling response takes at most :data:`POLLING_PAYLOAD_PACKETS`
    packets: the rest wait for the next (``empty`` is the exception
    python-engineio's ``poll()`` expects once nothing more is to be taken).
    """

    base_put, base_get = queue_class.put, queue_class.get

    class MeteredQueue(queue_class):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            #: Characters of the messages waiting (JSON is ASCII: bytes).
            self.bytes = 0
            #: When the queue last overflowed without draining since (``time.monotonic()``), or ``None``.
            self.full_since = None
            #: Messages dropped by the "drop" policy.
            self.dropped = 0
            # Whether every message is refused for now (ending, or attachments to skip).
            self.refusing = False
            self._skip_attachments = 0
            self._ending = False
            #: A weak reference to the WebSocket that the connection's writer
            #: sends on, once it is the only reader of this queue; ``None``
            #: while polling (the socket that owns this queue owns it).
            self.websocket = None
            # Whether the writer waits in get() for something to send.
            self.writer_waits = False
            # Frames of messages for an idle writer, written at the end of this turn of the event loop.
            self.unflushed = []
            self.unflushed_bytes = 0
            # Packets taken since the last blocking get().
            self.taken = 0

        @property
        def skip_attachments(self):
            """Attachments still to drop after a dropped binary message."""
            return self._skip_attachments

        @skip_attachments.setter
        def skip_attachments(self, count):
            self._skip_attachments = count
            self.refusing = bool(count) or self._ending

        @property
        def ending(self):
            """True once the connection is being ended: nothing more goes in."""
            return self._ending

        @ending.setter
        def ending(self, ending):
            self._ending = ending
            self.refusing = ending or bool(self._skip_attachments)

        def put(self, item, block=True, timeout=None):
            if item is not None and item.packet_type == MESSAGE:
                size = len(item.data)
                unflushed = self.unflushed
                if self.refusing or self.bytes + size > max_bytes or len(self.queue) + len(unflushed) >= max_messages:
                    raise Overflow()
                self.bytes += size
                if self.websocket is not None:
                    encoded = item.encode_cache
                    if encoded.__class__ is not writes.Framed:
                        if unflushed:
                            self._queue_unflushed()
                    elif unflushed or (self.writer_waits and not self.queue):
                        # The writer is idle: the frame is written once this
                        # turn of the event loop ends, with any others for it.
                        if not unflushed:
                            writes.flush_later(self)
                        unflushed.append(encoded.frame)
                        self.unflushed_bytes += size
                        return
            elif self.unflushed:
                self._queue_unflushed()
            base_put(self, item, block, timeout)

        def flush(self):
            """Write the messages held for an idle writer in one system call; queue what the socket does not take at once."""
            if not self.unflushed:
                return
            data = self._take_unflushed()
            websocket = self.websocket() if self.websocket is not None else None
            if self.writer_waits and not self.queue and websocket is not None:
                data = websocket.write_now(data)
            if data:
                self._queue_frames(data)

        def _queue_unflushed(self):
            # Something else must follow them: they go first, through the writer.
            self._queue_frames(self._take_unflushed())

        def _take_unflushed(self):
            data = b"".join(self.unflushed)
            self.unflushed.clear()
            self.bytes -= self.unflushed_bytes
            self.unflushed_bytes = 0
            return data

        def _queue_frames(self, data):
            self.bytes += len(data)
            base_put(self, writes.FramedPacket.unsent(data))

        def put_anyway(self, item):
            """Queue ``item`` whatever the bounds (the slow-consumer notice)."""
            self.bytes += len(item.data)
            base_put(self, item)

        def get(self, block=True, timeout=None):
            if block:
                self.taken = 0  # a writer's or a polling request's first packet
            elif self.websocket is None:
                self.taken += 1
                if self.taken >= POLLING_PAYLOAD_PACKETS:
                    raise empty()
            if block and not self.queue:
                self.writer_waits = True
                try:
                    item = base_get(self, block, timeout)
                finally:
                    self.writer_waits = False
            else:
                item = base_get(self, block, timeout)
            if item is not None and item.packet_type == MESSAGE:
                self.bytes -= len(item.data)
                if self.websocket is not None and self.queue and writes.framed(item) is not None:
                    # The writer sends what else is queued in the same system call.
                    item = writes.batch(item, self._take_framed)
                if self.full_since is not None and self.bytes <= max_bytes // 2:
                    self.full_since = None
            return item

        def _take_framed(self):
            """The next queued packet if it is a framed message (taken, as done), else ``None``."""
            if not self.queue or self.queue[0] is None or writes.framed(self.queue[0]) is None:
                return None
            item = base_get(self, block=False)
            self.task_done()
            self.bytes -= len(item.data)
            return item

        def discard(self):
            """Throw away every queued packet (they will never be read)."""
            self.unflushed.clear()
            self.unflushed_bytes = 0
            while self.qsize():
                base_get(self, block=False)
                self.task_done()
            self.bytes = 0

    if max_bytes is None:
        max_bytes = float("inf")
    if max_messages is None:
        max_messages = float("inf")
    return MeteredQueue


def namespace_of(encoded):
    """The namespace of an encoded Socket.IO packet (``"2/rooms/lobby,[…]"``), or ``"/"``."""
    if not isinstance(encoded, str):
        return None  # a binary attachment
    start = 1
    while start < len(encoded) and encoded[start].isdigit():
        start += 1
    start = start + 1 if encoded[start : start + 1] == "-" else 1
    if encoded[start : start + 1] != "/":
        return "/"
    end = encoded.find(",", start)
    return encoded[start:] if end == -1 else encoded[start:end]


def attachments_of(encoded):
    """How many binary attachments an encoded Socket.IO packet announces in its header (``"52-/chat,…"``: 2)."""
    if not isinstance(encoded, str) or encoded[:1] not in ("5", "6"):
        return 0
    dash = encoded.find("-", 1, 13)
    digits = encoded[1:dash] if dash > 1 else ""
    return int(digits) if digits.isascii() and digits.isdigit() else 0
