"""
Recovery replay: after a subscription's confirmation, the history its client missed, then the live packets held meanwhile.

On a channel with history the confirmation carries the recovery session id
(``pid``); then what the client missed (or a newcomer's last broadcasts) is
sent, :data:`REPLAY_BATCH` packets at a time, while live packets wait behind
the connection's :class:`Gate`; what the replay covered is not sent again.
What is kept, and for how long, is :mod:`socketio_views.history`'s concern;
who recovers what, :mod:`socketio_views.recovery`'s.

Example usage (a view with history, which the replay serves)::

    class RoomChannel(ChannelView):
        history = 100
"""
import time

import socketio

from .. import queues, recovery
from ..offsets import parse_offset
from ..db import release_db_connections
from ..logs import logger, of_view
from .pacing import wait_for_turn

#: Replayed packets sent before the replay lets other greenlets run.
REPLAY_BATCH = 50


class Gate:
    """Live packets for one connection, held while history is replayed to its new subscriptions."""

    def __init__(self):
        self.packets = []
        self.pending = 0
        self.replayed = {}  # namespace -> the last replayed offset, parsed

    def replayed_already(self, eio_pkt, packet_class):
        """Whether ``eio_pkt`` is a broadcast whose offset the replay already covered."""
        if not self.replayed or not isinstance(eio_pkt.data, str) or not eio_pkt.data.startswith("2"):
            return False
        pkt = packet_class(encoded_packet=eio_pkt.data)
        last = self.replayed.get(pkt.namespace or "/")
        offset = parse_offset(pkt.data[-1]) if isinstance(pkt.data, list) and len(pkt.data) > 2 else None
        return last is not None and offset is not None and offset <= last


class Replay:
    """The replay part of :class:`~socketio_views.transport.server.ChannelServer`."""

    def confirm_with_history(self, connection, view, namespace):
        """Send the confirmation of ``view``'s subscription with its recovery id, then replay (in a greenlet)."""
        connection.confirming[namespace] = view
        self.start_background_task(self.replay, view, connection, namespace)

    def gate_of(self, connection):
        """The gate of ``connection``, created if it has none."""
        if connection.gate is None:
            connection.gate = Gate()
        return connection.gate

    def replay(self, view, connection, namespace):
        """Send the history the subscriber missed, then the live packets held meanwhile, without duplicates."""
        wait_for_turn()  # a crowd's replays do not hold the established connections
        outbox = view.hub
        gate = connection.gate
        while gate is None and namespace in connection.confirming:
            self.sleep(0.001)  # the confirmation is not sent yet
            gate = connection.gate
        if gate is None:
            return  # the connection closed before it was confirmed
        last = outbox.resume_offset
        # A replay waits for a client that reads slowly, as long as a pong would.
        patience = time.monotonic() + self.eio.ping_timeout
        try:
            # What was read before the subscription went live, then what was
            # kept since; live packets wait in the gate meanwhile.
            last = self._send_entries(connection.id, namespace, outbox.replay, patience) or last
            last = self._send_entries(connection.id, namespace, recovery.catch_up(view, outbox), patience) or last
        except Exception:
            logger.exception("Could not replay the history of %r to %s", view.channel, view.sid, **of_view(view))
        finally:
            gate.replayed[namespace] = parse_offset(last)
            gate.pending -= 1
            if gate.pending == 0 and connection.gate is gate:
                connection.gate = None
                for eio_pkt in gate.packets:
                    if not gate.replayed_already(eio_pkt, self.packet_class):
                        self.queue(connection.id, eio_pkt)
                gate.packets = []
                gate.replayed = {ns: offset for ns, offset in gate.replayed.items() if offset is not None}
                if gate.replayed and not connection.closed:
                    connection.replayed = gate
        outbox.release()
        release_db_connections()

    def _send_entries(self, connection_id, namespace, entries, patience):
        """Send history entries, yielding now and then; return the last one's offset.

        While the connection's queue is full the replay waits for the client
        to read, until ``patience`` (a ``time.monotonic()``); then the
        channel's slow-consumer policy applies.
        """
        sent = 0
        for count, entry in enumerate(entries, 1):
            pkt = self.packet_class(socketio.packet.EVENT, namespace=namespace, data=[entry.event, entry.data, entry.offset])
            while True:
                try:
                    self.write_packet(connection_id, pkt)
                    sent += 1
                    break
                except queues.Overflow:
                    socket = self.eio.sockets.get(connection_id)
                    if socket is None or socket.queue.ending or time.monotonic() > patience:
                        self.overflowed(connection_id, namespace)
                        break
                    self.sleep(0.01)
            if count % REPLAY_BATCH == 0:
                self.sleep(0.001)  # a long replay lets other connections in (sleep(0) polls no I/O)
        self.meter.replayed(namespace, sent)
        return entries[-1].offset if entries else None
