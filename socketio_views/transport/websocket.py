"""
The frame guard: what a WebSocket frame must be before python-engineio decodes it.

A message larger than ``MAX_MESSAGE_SIZE`` is refused from its header, before
its payload is read (:func:`socketio_views.frames.receive`); a text frame that
is not an Engine.IO packet (garbage, or JSON nested too deep to decode)
closes its connection at once with one log line, instead of escaping as a
WSGI traceback. :class:`socketio_views.transport.engine.CheckedWebSocket`
applies it to every frame.

Example usage::

    from socketio_views.transport.websocket import is_engineio_packet

    is_engineio_packet("4hello")   # True
    is_engineio_packet("hello")    # False
"""
import logging

import engineio.packet
from geventwebsocket.websocket import WebSocket as GeventWebSocket

from .. import frames
from ..dispatch import log_refusal
from ..exceptions import MessageTooLarge
from ..logs import logger

#: The Engine.IO packet types a text frame may start with (open, close, ping, pong, message, upgrade, noop).
ENGINEIO_TYPES = frozenset("0123456")


class NotAnEngineIOPacket(ValueError):
    """A websocket frame python-engineio cannot decode; it ends its connection."""


def is_engineio_packet(data):
    """Whether python-engineio can decode text frame ``data``."""
    if data[:1] not in ENGINEIO_TYPES:
        return False
    try:
        engineio.packet.Packet(encoded_packet=data)
    except Exception:  # RecursionError: JSON nested deeper than the interpreter decodes
        return False
    return True


def receive(websocket, max_size, *, environ, connection_id):
    """Read the next message of gevent-websocket ``websocket``, refusing one over ``max_size`` bytes from its header."""
    try:
        return frames.receive(websocket, max_size)
    except MessageTooLarge as error:
        address = environ.get("REMOTE_ADDR")
        log_refusal(
            error, f"A websocket message from {address}", address, logging.WARNING, connection_id=connection_id
        )
        raise


def check(data, connection_id):
    """Return ``data``, a received message; raise :exc:`NotAnEngineIOPacket` for a text frame python-engineio cannot decode."""
    if isinstance(data, str) and not is_engineio_packet(data):
        logger.warning("Closing a websocket: %r is not an Engine.IO packet", data[:40], connection_id=connection_id)
        raise NotAnEngineIOPacket("not an Engine.IO packet")
    return data


def close(websocket, code, error):
    """Close a refused WebSocket with ``code`` and ``error`` as its reason (gevent-websocket's); other kinds plainly."""
    if isinstance(websocket, GeventWebSocket):
        frames.close(websocket, code, error)
    else:
        websocket.close()
