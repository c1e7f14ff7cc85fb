"""
The adapter: the one module that subclasses python-socketio and python-engineio and names their private hooks.

Everything else in the package talks to the classes here through public
names (``send_packet``, ``receive_message``, ``connection_opened``…), so an
upgrade of either library changes this module only. :data:`HOOKS` is the
table of the private names leaned on, each with why; :func:`check_hooks`
(run as system check ``socketio_views.E020``) refuses to start with versions
whose hooks are gone or changed.

Example usage (what the system check does)::

    from socketio_views.transport.engine import check_hooks

    problems = check_hooks()   # [] with a tested python-socketio / python-engineio
"""
import inspect
import io
import json
import logging
import socket as socket_module
import threading
import weakref

import engineio
import engineio.packet
import engineio.payload
import socketio
from django.utils.module_loading import import_string
from geventwebsocket.exceptions import WebSocketError
from geventwebsocket.websocket import MSG_ALREADY_CLOSED, MSG_SOCKET_DEAD
from geventwebsocket.websocket import WebSocket as GeventWebSocket

from .. import frames, metrics, queues
from ..clients import client_address
from ..conf import views_settings
from ..dispatch import log_refusal
from ..exceptions import SessionMismatch
from ..logs import logger
from ..origins import is_environ_origin_allowed
from . import websocket, writes
from .environ import LOGGED_KEY, session_id_of

#: The minor series of python-socketio and python-engineio this adapter is tested with (setup.py pins them).
TESTED_VERSIONS = {"python-socketio": "5.18", "python-engineio": "4.15"}

#: ``(class, private name, its parameters, why this package leans on it)``.
HOOKS = (
    (socketio.Server, "_engineio_server_class", ("self",), "serve with ChannelEngineIOServer"),
    (socketio.Server, "_handle_eio_connect", ("self", "eio_sid", "environ"), "open a Connection record"),
    (socketio.Server, "_handle_eio_disconnect", ("self", "eio_sid", "reason"), "close it, whatever ends it"),
    (socketio.Server, "_handle_eio_message", ("self", "eio_sid", "data"), "refuse packets before decoding them"),
    (socketio.Server, "_handle_event", ("self", "eio_sid", "namespace", "id", "data"), "tell an unsubscribed sender"),
    (socketio.Server, "_send_packet", ("self", "eio_sid", "pkt"), "recovery id in confirmations; overflow policy"),
    (socketio.Server, "_send_eio_packet", ("self", "eio_sid", "eio_pkt"), "hold, gate and dedupe live packets"),
    (engineio.Server, "_ok", ("self", "packets", "headers", "jsonp_index"), "HTTP 400 for a refused POST"),
    (engineio.Server, "_bad_request", ("self", "message"), "the same answer as python-engineio's"),
    (engineio.Server, "_cors_headers", ("self", "environ"), "CORS headers on our refusals; never a foreign origin"),
    (socketio.RedisManager, "_publish", ("self", "data"), "one warning per Redis outage, not two per message"),
    (socketio.RedisManager, "_redis_connect", ("self",), "reconnect before publishing again"),
    (socketio.RedisManager, "_redis_listen_with_retries", ("self",), "listen again within seconds"),
    (socketio.PubSubManager, "_handle_emit", ("self", "message"), "control messages; delivery counts"),
    (socketio.RedisManager, "_listen", ("self",), "count what is read; read each channel's Redis channel"),
)


#: The minor series of redis-py that :data:`REDIS_HOOKS` is tested with (requirements-dev.txt pins it).
REDIS_TESTED_VERSION = "7.1"

#: The redis-py internals :mod:`~socketio_views.transport.cluster` leans on to read a Redis Cluster's shards (a
#: ``redis+cluster://`` ``BACKEND``): as :data:`HOOKS`, with the class by name, since redis-py is optional; the
#: parameters ``None`` for an attribute that its instances set.
REDIS_HOOKS = (
    ("redis.cluster.RedisCluster", "nodes_manager", None, "read the map of slots again after a resharding"),
    ("redis.cluster.NodesManager", "initialize", ("self",), "read the map of slots again after a resharding"),
    ("redis.cluster.ClusterNode", "redis_connection", None, "open a PubSub on each shard's own client"),
    ("redis.client.PubSub", "connection", None, "read a shard's connection itself: its listen() ends with its last channel"),
    ("redis.client.PubSub", "handle_message", ("self", "response", "ignore_subscribe_messages"),
     "make a message of a reply, as listen() does"),
    ("redis.connection.AbstractConnection", "read_response",
     ("self", "disable_decoding", "disconnect_on_error", "push_request"),
     "wait for a shard's next message without redis-py reconnecting behind a closed listener"),
)


#: The CORS headers that a foreign origin (:func:`socketio_views.origins.is_origin_allowed`) never gets.
FOREIGN_ORIGIN_DENIED = frozenset({"Access-Control-Allow-Origin", "Access-Control-Allow-Credentials"})


def check_hooks(hooks=HOOKS):
    """Return a message for each hook of ``hooks`` (:data:`HOOKS`) that the installed libraries lack or changed."""
    problems = []
    for owner, name, parameters, why in hooks:
        hook = getattr(owner, name, None)
        if hook is None:
            problems.append(f"{owner.__module__}.{owner.__qualname__}.{name} is gone (used to {why})")
            continue
        found = tuple(inspect.signature(hook).parameters)
        if found != parameters:
            problems.append(
                f"{owner.__module__}.{owner.__qualname__}.{name}{found} is not {name}{parameters} (used to {why})"
            )
    return problems


def check_redis_hooks():
    """Return a message for each method of :data:`REDIS_HOOKS` that the installed redis-py lacks or changed.

    ``[]`` without redis-py. The attributes of the table, which only
    instances have, are checked by the tests (``tests/test_engine.py``).
    """
    try:
        import redis  # noqa: F401
    except ImportError:
        return []
    return check_hooks(
        [(import_string(owner), name, parameters, why) for owner, name, parameters, why in REDIS_HOOKS if parameters]
    )


def CheckedWebSocket(websocket_class):
    """``websocket_class`` (python-engineio's gevent driver) reading each frame through the frame guard.

    It also lets its Engine.IO socket find it (:meth:`ChannelEngineIOServer.shut_transport`)
    and counts an upgrade once it is done (python-engineio has no hook for it).
    It writes frames through :mod:`~socketio_views.transport.writes`: each
    broadcast framed once, batches in one system call, and, once the
    Engine.IO socket is upgraded, messages written by their sender while the
    writer is idle.
    """

    class Checked(websocket_class):
        def __init__(self, handler, server):
            super().__init__(handler, server)
            engineio_socket = getattr(handler, "__self__", None)
            if engineio_socket is not None:
                # Weak: this websocket holds its socket (its handler), and a
                # cycle would keep both until a full garbage collection.
                engineio_socket.websocket = weakref.ref(self)
            self.engineio_socket = engineio_socket
            self.connection_id = getattr(engineio_socket, "sid", None)
            self.max_message_size = server.max_http_buffer_size
            self.upgrading = engineio_socket if engineio_socket is not None and engineio_socket.connected else None
            self.meter = getattr(server, "meter", metrics.NULL_METER)

        def wait(self):
            if self.upgrading is not None and self.upgrading.upgraded:
                self.meter.connection_upgraded(self.upgrading.sid)
                self.upgrading = None
            engineio_socket = self.engineio_socket
            if engineio_socket is not None and engineio_socket.upgraded and engineio_socket.queue.websocket is None:
                # Its writer runs: no polling request reads the queue any more.
                engineio_socket.queue.websocket = weakref.ref(self)
                self.send_without_delay()
            ws = getattr(self, "_sock", None)
            if isinstance(ws, GeventWebSocket):
                data = websocket.receive(ws, self.max_message_size, environ=self.environ, connection_id=self.connection_id)
            else:
                data = super().wait()
            return websocket.check(data, self.connection_id)

        def send(self, message):
            ws = getattr(self, "_sock", None)
            if message.__class__ is not writes.Framed or not isinstance(ws, GeventWebSocket):
                return super().send(message)
            if ws.closed:
                raise WebSocketError(MSG_ALREADY_CLOSED)
            try:
                writes.write(ws.handler.socket, message.frame)
            except OSError:
                raise WebSocketError(MSG_SOCKET_DEAD) from None

        def write_now(self, frame):
            """Write what the socket takes of ``frame`` without waiting; return the rest (all of it on error)."""
            ws = getattr(self, "_sock", None)
            if ws is None or ws.closed:
                return frame
            try:
                return writes.write_now(ws.handler.socket, frame)
            except OSError:
                return frame  # the writer meets the error and ends the connection

        def send_without_delay(self):
            """Turn Nagle's algorithm off: a message written while the client's ACK of the last is delayed goes at once."""
            raw = self.raw_socket
            if raw is not None:
                try:
                    raw.setsockopt(socket_module.IPPROTO_TCP, socket_module.TCP_NODELAY, 1)
                except OSError:
                    pass  # not TCP (a Unix socket behind a proxy)

        def close(self):
            if self.engineio_socket is not None:
                self.engineio_socket.queue.websocket = None
            return super().close()

        @property
        def raw_socket(self):
            """The TCP socket under this WebSocket, or ``None``."""
            handler = getattr(getattr(self, "_sock", None), "handler", None)
            return getattr(handler, "socket", None)

        @property
        def open(self):
            """Whether the client has not closed this WebSocket."""
            ws = getattr(self, "_sock", None)
            return ws is not None and not getattr(ws, "closed", True)

    return Checked


def websocket_of(socket):
    """The :func:`CheckedWebSocket` of Engine.IO ``socket``, or ``None`` (polling, or gone)."""
    ref = getattr(socket, "websocket", None)
    return ref() if ref is not None else None


class ChannelEngineIOServer(engineio.Server):
    """python-engineio's server, except that ending a session never waits for its client.

    python-engineio's ``disconnect()`` waits until the client has fetched every
    packet queued for it; a polling client with no GET pending never does, so
    a POST that carried a bad packet was never answered. Here the queued
    packets (the CLOSE packet among them) are still sent to a client that
    reads them. A POST this server refused, or that python-engineio cannot
    decode, is answered with HTTP 400, and so is a POST to a session its
    client closed. What waits to be sent to one connection is bounded
    (:mod:`socketio_views.queues`). A request for an existing session that
    does not come from the client that opened it
    (:meth:`socketio_views.identity.Identity.owns`) is refused before
    python-engineio sees it.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        #: This process's :class:`~socketio_views.transport.connections.Connections` (set by the Socket.IO server).
        self.connections = None
        self._refusal = threading.local()
        self._queue_class = queues.metered_queue(
            self._async["queue"],
            views_settings.MAX_QUEUED_BYTES,
            views_settings.MAX_QUEUED_MESSAGES,
            empty=self._async["queue_empty"],
        )
        if self._async.get("websocket") is not None:
            # A copy: python-engineio's driver table is shared by every server.
            self._async = {**self._async, "websocket": CheckedWebSocket(self._async["websocket"])}

    def create_queue(self, *args, **kwargs):
        return self._queue_class(*args, **kwargs)

    def handle_request(self, environ, start_response):
        sid = session_id_of(environ)
        if sid is not None and self.connections is not None:
            connection = self.connections.get(sid)
            if connection is not None and not connection.identity.owns(environ):
                return self._refuse_stranger(sid, environ, start_response)
        if environ.get("REQUEST_METHOD") == "POST":
            socket = self.sockets.get(sid)
            if socket is not None and socket.closed:
                # Its client sent CLOSE; python-engineio's POST branch would
                # raise KeyError (HTTP 500) instead of refusing the session.
                del self.sockets[sid]
            elif socket is not None and not self._decodes_post_body(environ):
                logger.warning("Closing connection %s: its POST is not an Engine.IO payload", sid, connection_id=sid)
                self.disconnect(sid)
                return self.answer(environ, start_response, self._bad_request("Not an Engine.IO payload"))
        return super().handle_request(environ, start_response)

    def answer(self, environ, start_response, response):
        """Answer with one of python-engineio's responses (``_ok()``, ``_bad_request()``), with its CORS headers."""
        start_response(response["status"], response["headers"] + self._cors_headers(environ))
        return [response["response"]]

    def _refuse_stranger(self, sid, environ, start_response):
        """Refuse a request for session ``sid`` from another client: HTTP 403, or a WebSocket closed with 1008."""
        error = SessionMismatch()
        address = client_address(environ)
        log_refusal(error, f"A request for connection {sid} from {address}", address, logging.WARNING, connection_id=sid)
        environ[LOGGED_KEY] = True
        ws = environ.get("wsgi.websocket")
        if ws is not None:
            websocket.close(ws, frames.POLICY_VIOLATION, error)
            return []
        response = {
            "status": "403 Forbidden",
            "headers": [("Content-Type", "application/json")],
            "response": json.dumps(error.as_dict()).encode(),
        }
        return self.answer(environ, start_response, response)

    def _cors_headers(self, environ):
        # python-engineio lets every origin in (socketio_views.origins refuses
        # each subscription, with a message), and would grant each one CORS,
        # credentials included: a foreign page could then read the handshake.
        headers = super()._cors_headers(environ)
        if not is_environ_origin_allowed(environ):
            headers = [(name, value) for name, value in headers if name not in FOREIGN_ORIGIN_DENIED]
        return headers

    def _decodes_post_body(self, environ):
        """Whether python-engineio can decode this POST's body, which stays readable."""
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return False
        if length > self.max_http_buffer_size:
            return True  # python-engineio refuses it without reading it
        body = environ["wsgi.input"].read(length)
        environ["wsgi.input"] = io.BytesIO(body)
        try:
            engineio.payload.Payload(encoded_payload=body.decode("utf-8"))
        except Exception:
            return False
        return True

    def refuse_request(self, message):
        """Answer the long-polling request being handled with HTTP 400 and ``message``."""
        self._refusal.message = message

    def _ok(self, *args, **kwargs):
        message = getattr(self._refusal, "message", None)
        if message is not None:
            self._refusal.message = None
            return self._bad_request(message)
        return super()._ok(*args, **kwargs)

    def disconnect(self, sid=None, reason=None):
        if sid is None:
            return super().disconnect()
        socket = self.sockets.get(sid)
        if socket is not None:
            socket.close(wait=False, reason=reason or self.reason.SERVER_DISCONNECT)
            self.sockets.pop(sid, None)

    @staticmethod
    def is_ending(socket):
        """Whether Engine.IO ``socket`` is closing or closed, or its queue takes nothing more."""
        return socket is None or socket.closing or socket.closed or socket.queue.ending

    def shut_transport(self, socket):
        """Shut the TCP socket of ``socket``'s websocket, waking a writer blocked on a client that does not read."""
        raw = getattr(websocket_of(socket), "raw_socket", None)
        if raw is not None:
            try:
                raw.shutdown(socket_module.SHUT_RDWR)
            except OSError:
                pass  # already closed

    @staticmethod
    def transport_open(socket):
        """Whether the WebSocket of Engine.IO ``socket`` is still open (its client has not closed it)."""
        return getattr(websocket_of(socket), "open", False)

    def close_first(self, sid):
        """Queue Engine.IO CLOSE for connection ``sid`` now, before its teardown; return its socket, or ``None``.

        python-engineio's ``Socket.close()`` runs the disconnect handlers
        before it queues the CLOSE packet. Until :meth:`tear_down`, its
        ``close()`` does nothing for this socket (the client closing its
        WebSocket meanwhile included), so that its subscriptions end once.
        """
        socket = self.sockets.get(sid)
        if socket is None or socket.closing or socket.closed:
            return None
        socket.closing = True
        socket.queue.ending = True  # nothing is queued after the CLOSE packet
        socket.queue.put(engineio.packet.Packet(engineio.packet.CLOSE))
        return socket

    def tear_down(self, sid, socket, reason):
        """What python-engineio's ``close()`` does after CLOSE, for a socket of :meth:`close_first`: the disconnect handlers."""
        try:
            socket.closing = False
            socket.close(wait=False, abort=True, reason=reason)
        finally:
            self.sockets.pop(sid, None)


class SocketIOServer(socketio.Server):
    """python-socketio's server with each private hook this package needs turned into a public method.

    Each ``_hook`` calls a method with a public name whose default does what
    python-socketio does; :class:`~socketio_views.transport.server.ChannelServer`
    and its parts override those.
    """

    def _engineio_server_class(self):
        return ChannelEngineIOServer

    def _handle_eio_connect(self, eio_sid, environ):
        super()._handle_eio_connect(eio_sid, environ)
        self.connection_opened(eio_sid, environ)

    def connection_opened(self, connection_id, environ):
        """An Engine.IO connection opened (python-socketio has recorded it)."""

    def _handle_eio_disconnect(self, eio_sid, reason):
        self.connection_closed(eio_sid, reason)

    def connection_closed(self, connection_id, reason):
        """An Engine.IO connection closed: end its subscriptions (:meth:`end_subscriptions`)."""
        self.end_subscriptions(connection_id, reason)

    def end_subscriptions(self, connection_id, reason):
        """python-socketio's end of a connection: each subscription's disconnect handler runs."""
        super()._handle_eio_disconnect(connection_id, reason)

    def _handle_eio_message(self, eio_sid, data):
        self.receive_message(eio_sid, data)

    def receive_message(self, connection_id, data):
        """Decode and handle an Engine.IO message (a Socket.IO packet or a binary attachment)."""
        super()._handle_eio_message(connection_id, data)

    def awaits_attachments(self, connection_id):
        """Whether the next messages of ``connection_id`` are binary attachments of a packet being received."""
        return connection_id in self._binary_packet

    def _handle_event(self, eio_sid, namespace, id, data):
        self.receive_event(eio_sid, namespace, id, data)

    def receive_event(self, connection_id, namespace, id, data):
        """Dispatch a client's event to its namespace's handler."""
        super()._handle_event(connection_id, namespace, id, data)

    def _send_packet(self, eio_sid, pkt):
        self.send_packet(eio_sid, pkt)

    def send_packet(self, connection_id, pkt):
        """Send Socket.IO packet ``pkt`` to ``connection_id``: the path of every packet python-socketio sends."""
        self.write_packet(connection_id, pkt)

    def write_packet(self, connection_id, pkt):
        """Encode Socket.IO packet ``pkt`` and queue it for ``connection_id``, as python-socketio does."""
        super()._send_packet(connection_id, pkt)

    def _send_eio_packet(self, eio_sid, eio_pkt):
        self.send_eio_packet(eio_sid, eio_pkt)

    def send_eio_packet(self, connection_id, eio_pkt):
        """Send Engine.IO packet ``eio_pkt`` to ``connection_id``: the path of every encoded packet."""
        self.write_eio_packet(connection_id, eio_pkt)

    def write_eio_packet(self, connection_id, eio_pkt):
        """Queue Engine.IO packet ``eio_pkt`` for ``connection_id``, as python-socketio and python-engineio do.

        For an open session this is python-engineio's ``Socket.send()``
        without its log call, whose arguments cost as much as the rest on
        every delivery; any other goes through python-socketio.
        """
        socket = self.eio.sockets.get(connection_id)
        if socket is None or socket.closed:
            super()._send_eio_packet(connection_id, eio_pkt)
        elif socket.check_ping_timeout():
            socket.queue.put(eio_pkt)
