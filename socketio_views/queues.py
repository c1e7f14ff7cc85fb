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

MESSAGE = eio_packet.MESSAGE

#: End the slow connection (the default).
DISCONNECT = "disconnect"
#: Drop what does not fit, keep the connection.
DROP = "drop"
POLICIES = (DISCONNECT, DROP)


class Overflow(Exception):
    """A message does not fit in its connection's queue."""


def metered_queue(queue_class, max_bytes, max_messages):
    """A subclass of ``queue_class`` (python-engineio's queue) bounded by ``max_bytes`` and ``max_messages``.

    ``None`` leaves a bound off. Only messages (Socket.IO packets) are
    bounded; Engine.IO's own packets (ping, close, noop) always go in.
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
                if self.bytes + size > max_bytes or len(self.queue) >= max_messages or self.refusing:
                    raise Overflow()
                self.bytes += size
            base_put(self, item, block, timeout)

        def put_anyway(self, item):
            """Queue ``item`` whatever the bounds (the slow-consumer notice)."""
            self.bytes += len(item.data)
            base_put(self, item)

        def get(self, block=True, timeout=None):
            item = base_get(self, block, timeout)
            if item is not None and item.packet_type == MESSAGE:
                self.bytes -= len(item.data)
                if self.full_since is not None and self.bytes <= max_bytes // 2:
                    self.full_since = None
            return item

        def discard(self):
            """Throw away every queued packet (they will never be read)."""
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
