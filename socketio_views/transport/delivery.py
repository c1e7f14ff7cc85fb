"""
Delivery: what happens to a packet between python-socketio and a connection's queue.

Live packets for a subscription being decided are held; while history is
replayed to a connection they wait behind its gate; a broadcast its replay
already sent is not sent twice; and a packet that does not fit in a slow
connection's bounded queue (:mod:`socketio_views.queues`) waits a moment for
its writer, then meets the channel's slow-consumer policy: ``"drop"`` (counted,
logged once per burst) or ``"disconnect"`` (the ``slow_consumer`` error, then
the transport closes; the official client reconnects and recovers).

Example usage (a view choosing the policy)::

    class TickerChannel(ChannelView):
        slow_consumer_policy = "drop"
"""
import time

import engineio.packet
import socketio

from .. import queues
from ..exceptions import SlowConsumer
from ..logs import logger
from . import writes

#: Socket.IO packets whose binary attachments are sent as packets of their own.
BINARY_PACKETS = (socketio.packet.BINARY_EVENT, socketio.packet.BINARY_ACK)

#: Seconds a sender waits, once, for a full queue's writer to make room
#: before the channel's slow-consumer policy applies.
OVERFLOW_WAIT = 0.05

#: Seconds a slow consumer's socket is given to read its ``slow_consumer``
#: notice before it is shut down.
SLOW_CONSUMER_GRACE = 2

#: Seconds between two log lines about one connection's dropped messages.
DROP_LOG_INTERVAL = 10


class Delivery:
    """The delivery part of :class:`~socketio_views.transport.server.ChannelServer`."""

    def send_packet(self, connection_id, pkt):
        connection = self.connections.get(connection_id)
        view = connection.confirming.pop(pkt.namespace, None) if connection is not None and connection.confirming else None
        if view is not None and pkt.packet_type == socketio.packet.CONNECT:
            pkt.data = {**pkt.data, "pid": view.hub.pid}
            self.write_packet(connection_id, pkt)
            # From now on the subscriber is live: hold its live packets until
            # the replay is sent (before python-socketio lets any reach it).
            self.gate_of(connection).pending += 1
            return
        try:
            self.write_packet(connection_id, pkt)
        except queues.Overflow:
            # Parts of a binary packet may be queued already: no second try.
            retry = None if pkt.packet_type in BINARY_PACKETS else lambda: self.write_packet(connection_id, pkt)
            self.overflowed(connection_id, pkt.namespace or "/", retry)

    def send_eio_packet(self, connection_id, eio_pkt):
        connection = self.connections.get(connection_id)
        if connection is not None:
            if connection.subscribing:
                held = connection.subscribing.get(queues.namespace_of(eio_pkt.data))
                if held is not None:
                    held.append(eio_pkt)
                    return
            if connection.gate is not None:
                connection.gate.packets.append(eio_pkt)
                return
            if connection.replayed is not None and self._replayed_already(connection, eio_pkt):
                return
        self.queue(connection_id, eio_pkt)

    def _replayed_already(self, connection, eio_pkt):
        """Whether a live broadcast for a just-recovered connection was sent by its replay already.

        With a pub/sub backend a broadcast is kept in history before it
        comes back from the backend to be delivered here: the replay may
        have read it from history. The check ends once a later broadcast of
        the channel arrives.
        """
        gate = connection.replayed
        if gate.replayed_already(eio_pkt, self.packet_class):
            return True
        namespace = queues.namespace_of(eio_pkt.data)
        if namespace in gate.replayed and isinstance(eio_pkt.data, str) and eio_pkt.data.startswith("2"):
            del gate.replayed[namespace]  # a later broadcast: what follows is new
            if not gate.replayed:
                connection.replayed = None
        return False

    def queue(self, connection_id, eio_pkt):
        """Queue ``eio_pkt`` for ``connection_id`` now (past any hold or gate); apply the policy if it does not fit."""
        writes.prepare(eio_pkt)
        try:
            self.write_eio_packet(connection_id, eio_pkt)
        except queues.Overflow:
            self.overflowed(
                connection_id,
                queues.namespace_of(eio_pkt.data),
                lambda: self.write_eio_packet(connection_id, eio_pkt),
                attachments=queues.attachments_of(eio_pkt.data),
            )

    def overflowed(self, connection_id, namespace, retry=None, attachments=0):
        """A message for ``namespace`` did not fit in connection ``connection_id``'s queue: apply the channel's policy.

        ``namespace`` is ``None`` for a binary attachment; ``retry`` sends the
        message again; ``attachments`` follow it.
        """
        socket = self.eio.sockets.get(connection_id)
        if self.eio.is_ending(socket):
            return
        queue = socket.queue
        if queue.skip_attachments and namespace is None:
            queue.skip_attachments -= 1  # an attachment of a dropped message
            return
        if queue.full_since is None:
            queue.full_since = time.monotonic()
            if retry is not None and self._wait_for_writer(socket, retry):
                return
        view = self.views.get(self.manager.sid_from_eio_sid(connection_id, namespace)) if namespace else None
        policy = view.get_slow_consumer_policy() if view is not None else queues.DISCONNECT
        if policy == queues.DROP and time.monotonic() - queue.full_since < self.eio.ping_timeout:
            self._drop(connection_id, queue, namespace, attachments)
        else:
            self._end_slow_consumer(connection_id, socket, namespace)

    def _wait_for_writer(self, socket, retry):
        """Give the connection's writer ``OVERFLOW_WAIT`` seconds to make room, then send with ``retry``.

        A burst (a handler sending in a loop) outruns a healthy client's
        writer for a moment; a client that does not read makes no room.
        """
        queue = socket.queue
        deadline = time.monotonic() + OVERFLOW_WAIT
        while time.monotonic() < deadline:
            self.sleep(0.002)
            if self.eio.is_ending(socket):
                return True  # nothing more to send to it
            try:
                retry()
            except queues.Overflow:
                continue
            queue.full_since = None
            return True
        return False

    def _drop(self, connection_id, queue, namespace, attachments):
        self.meter.message_dropped(namespace)
        queue.dropped += 1
        queue.skip_attachments = attachments
        now = time.monotonic()
        if now - getattr(queue, "logged_at", -DROP_LOG_INTERVAL) >= DROP_LOG_INTERVAL:
            queue.logged_at = now
            logger.warning(
                "Dropped %d message%s for the slow connection %s on %r so far (%d bytes queued)",
                queue.dropped,
                "" if queue.dropped == 1 else "s",
                connection_id,
                namespace[1:],
                queue.bytes,
                connection_id=connection_id,
                channel=namespace[1:],
            )

    def _end_slow_consumer(self, connection_id, socket, namespace):
        """Discard what connection ``connection_id`` has queued, tell it why, and close its transport."""
        queue = socket.queue
        queued = (queue.qsize(), queue.bytes)
        queue.ending = True
        self.meter.slow_consumer_ended(namespace)
        queue.discard()
        if namespace is not None:
            # Past the full queue: the notice is the one packet left in it.
            notice = self.error_packet(namespace, SlowConsumer().as_event())
            queue.put_anyway(engineio.packet.Packet(engineio.packet.MESSAGE, data=notice.encode()))
        logger.warning(
            "Closing connection %s: slow consumer (%d messages, %d bytes queued on %r; full for %.2f s)",
            connection_id,
            *queued,
            namespace and namespace[1:],
            time.monotonic() - queue.full_since if queue.full_since is not None else 0,
            connection_id=connection_id,
            channel=namespace and namespace[1:],
            code=SlowConsumer.default_code,
        )
        self.start_background_task(self._close_slow_consumer, connection_id, socket)

    def _close_slow_consumer(self, connection_id, socket):
        # The transport closes, not the subscriptions: the official client
        # reconnects by itself, and recovers on channels with history.
        self.eio.disconnect(connection_id, reason="slow consumer")
        self.sleep(SLOW_CONSUMER_GRACE)
        self.eio.shut_transport(socket)
