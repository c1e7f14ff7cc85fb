"""
The packet guards: what a client's Socket.IO packet must be before python-socketio handles it.

* An event for a channel the connection is not subscribed to gets
  ``connect_error`` with ``not_subscribed`` (python-socketio would drop it silently).
* A binary event announcing more than ``MAX_ATTACHMENTS`` attachments is
  refused from its header (``too_many_attachments``), and its connection closed.
* A malformed packet closes its connection (HTTP 400 to a long-polling POST).
* A connection whose pipelined packets have held the process for
  :data:`FAIR_SLICE` lets the others be served first.

Frame-level limits (size, Engine.IO framing) are :mod:`socketio_views.transport.websocket`'s.

Example settings::

    SOCKETIO_VIEWS = {"MAX_ATTACHMENTS": 10}
"""
import logging
import time

import gevent
import socketio

from .. import dispatch, queues
from ..conf import views_settings
from ..exceptions import NotSubscribed, TooManyAttachments
from ..logs import log_per_burst
from .environ import REFUSAL_KEY

#: Seconds one connection's queued packets may hold the process before the
#: others are served.
FAIR_SLICE = 0.005

#: The Socket.IO packet types followed by binary attachments (binary event, binary ack).
BINARY_PACKET_TYPES = frozenset("56")

#: The Socket.IO packet type of a subscription (CONNECT).
CONNECT_PACKET_TYPE = "0"

#: WSGI environ key: the close of a refused connection is scheduled.
CLOSING_KEY = "socketio_views.closing"


def libev_loop_clock():
    """The event loop's cached time when it is libev's (gevent's default on Linux), else ``None``."""
    loop = gevent.get_hub().loop
    return loop.now if type(loop).__module__.startswith("gevent.libev") else None


class Guards:
    """The packet guards of :class:`~socketio_views.transport.server.ChannelServer`."""

    def receive_event(self, connection_id, namespace, id, data):
        namespace = namespace or "/"
        if not self.manager.is_connected(self.manager.sid_from_eio_sid(connection_id, namespace), namespace):
            error = NotSubscribed(f"Not subscribed to {namespace[1:]!r}; subscribe before emitting.")
            self.meter.refused(None, error.code)
            self._send_connect_error(connection_id, namespace, error)
            return
        super().receive_event(connection_id, namespace, id, data)

    def receive_message(self, connection_id, data):
        if self._loop_clock is not None and time.time() - self._loop_clock() > FAIR_SLICE:
            # This connection's packets have held the process for a while
            # (a pipelined burst): let the event loop serve the others first.
            self.sleep(0.0005)
        if not self._still_open(connection_id):
            # The rest of a polling payload, or frames read after the one
            # that ended this connection: nothing is left to handle them.
            return
        if isinstance(data, str) and data[:1] == CONNECT_PACKET_TYPE:
            refusal = self.environ.get(connection_id, {}).get(REFUSAL_KEY)
            if refusal is not None:
                return self._refuse_subscription(connection_id, data, refusal)
        if isinstance(data, str) and data[:1] in BINARY_PACKET_TYPES and not self.awaits_attachments(connection_id):
            limit = views_settings.MAX_ATTACHMENTS
            count = queues.attachments_of(data)
            if limit is not None and count > limit:
                error = TooManyAttachments(
                    f"An event may carry at most {limit} binary attachments (MAX_ATTACHMENTS); "
                    f"this one announced {count}."
                )
                return self._refuse_packet(connection_id, data, error)
        try:
            super().receive_message(connection_id, data)
        except Exception as exc:
            # Only what no correct client sends gets here (handlers never
            # raise): a malformed or unexpected Socket.IO packet.
            log_per_burst(
                logging.WARNING, connection_id, "Closing connection %s: malformed Socket.IO packet (%s: %s)",
                connection_id, type(exc).__name__, exc, connection_id=connection_id,
            )
            self.close_refused(connection_id, "Malformed Socket.IO packet")

    def _refuse_subscription(self, connection_id, data, refusal):
        """Refuse the subscription in ``data`` with ``refusal`` (``connect_error``), before python-socketio or any view.

        The connection's handshake was refused (``REFUSAL_KEY``): gevent-websocket
        had accepted the upgrade, so each subscription hears why, and the
        connection closes a second after the first.
        """
        namespace = data[1:].split(",", 1)[0] if data[1:2] == "/" else "/"
        self._send_connect_error(connection_id, namespace, refusal)
        environ = self.environ.get(connection_id)
        if environ is not None and not environ.get(CLOSING_KEY):
            environ[CLOSING_KEY] = True
            self.start_background_task(self._close_later, connection_id)

    def _send_connect_error(self, connection_id, namespace, error):
        """Send ``connect_error`` with ``error``'s message and code for ``namespace`` to ``connection_id``."""
        self.send_packet(
            connection_id,
            self.packet_class(
                socketio.packet.CONNECT_ERROR,
                data={"message": error.message, "data": error.as_dict()},
                namespace=namespace,
            ),
        )

    def _still_open(self, connection_id):
        socket = self.eio.sockets.get(connection_id)
        return socket is not None and not (socket.closing or socket.closed)

    def _refuse_packet(self, connection_id, data, error):
        """Refuse the event in ``data`` with ``error`` (the ``error`` event and ack), then close its connection."""
        try:
            pkt = self.packet_class(encoded_packet=data)
        except Exception:
            pkt = None
        sid = self.manager.sid_from_eio_sid(connection_id, pkt.namespace or "/") if pkt is not None else None
        view = self.views.get(sid) if sid is not None else None
        if view is None:
            dispatch.log_refusal(
                error, f"A packet of connection {connection_id}", connection_id, logging.WARNING,
                connection_id=connection_id,
            )
        else:
            event = pkt.data[0] if isinstance(pkt.data, list) and pkt.data else None
            ack = dispatch.report_event_error(view, event, error)
            if pkt.id is not None:
                self.send_packet(
                    connection_id,
                    self.packet_class(socketio.packet.ACK, namespace=pkt.namespace, data=[ack], id=pkt.id),
                )
        self.close_refused(connection_id, error.message)

    def close_refused(self, connection_id, message):
        """Close a connection whose client sent what this server refuses; a long-polling POST gets HTTP 400."""
        socket = self.eio.sockets.get(connection_id)
        self.eio.disconnect(connection_id)
        if socket is not None and not socket.upgraded:
            self.eio.refuse_request(message)
