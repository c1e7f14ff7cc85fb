"""
The process-wide python-socketio server and the Django view that serves it.

Each channel is a Socket.IO namespace (channel ``rooms/lobby`` is namespace
``/rooms/lobby``); python-socketio's catch-all namespace hands every namespace
to :mod:`socketio_views.dispatch`, which routes it through the router the
connection arrived by.
"""
import io
import json
import logging
import re
import socket as socket_module
import threading
import time
from urllib.parse import parse_qs

import engineio
import engineio.packet
import engineio.payload
import socketio
from django.db import transaction
from django.http import HttpResponse, JsonResponse, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt
from gevent import pywsgi
from geventwebsocket.websocket import WebSocket as GeventWebSocket

from . import clients, dispatch, drain, frames, history, identity, metrics, monkey, queues, signals
from .backends import server_manager
from .conf import views_settings
from .db import release_db_connections
from .exceptions import (
    ChannelError,
    JsonpRefused,
    LoggedOut,
    MessageTooLarge,
    NotSubscribed,
    OriginNotAllowed,
    SessionMismatch,
    SlowConsumer,
    TooManyAttachments,
    TooManyPendingAcks,
    WebSocketUnsupported,
)
from .hubs import Hub, namespace_for, packet_args
from .logs import logger, of_view
from .state import ProcessWide


#: WSGI environ keys under which the endpoint leaves the router and the
#: Django request of the Socket.IO handshake.
ROUTER_KEY = "socketio_views.router"
REQUEST_KEY = "socketio_views.request"
#: WSGI environ key of the refusal of a WebSocket handshake (too many connections or handshakes).
REFUSAL_KEY = "socketio_views.refusal"
#: WSGI environ key set when a request was refused and its refusal logged (not to be logged again by Django).
LOGGED_KEY = "socketio_views.logged"

#: Replayed packets sent before the replay lets other greenlets run.
REPLAY_BATCH = 50

#: Seconds one connection's queued packets may hold the process before the
#: others are served.
FAIR_SLICE = 0.005

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

#: The values of a query string's plain ``sid`` parameters.
SESSION_ID_RE = re.compile(r"(?:^|&)sid=([^&]*)")


def session_id(query_string):
    """The Engine.IO session id a query string names, read as python-engineio reads it; ``None`` if none.

    python-engineio takes the first non-blank ``sid`` of ``parse_qs()``,
    which also decodes ``s%69d=`` and ``+``: so does this, without parsing
    the common query strings that need no decoding.
    """
    if "%" in query_string or "+" in query_string:
        return parse_qs(query_string).get("sid", [None])[0]
    for match in SESSION_ID_RE.finditer(query_string):
        if match.group(1):
            return match.group(1)
    return None

#: Bytes of a refused long-polling request's body that are still read (and
#: discarded) so that its client gets the answer; past them the connection closes.
DISCARD_LIMIT = 1024 * 1024


def _libev_loop_clock():
    import gevent

    loop = gevent.get_hub().loop
    return loop.now if type(loop).__module__.startswith("gevent.libev") else None

DEFAULT_SERVER_OPTIONS = {
    "async_mode": "gevent",
    # Events of one connection are handled in order, one at a time, in that
    # connection's greenlet; other connections are never delayed by them.
    "async_handlers": False,
    # Origins are checked per subscription (socketio_views.origins), where the
    # refusal can carry a message and a code; python-engineio only answers CORS.
    "cors_allowed_origins": lambda origin, environ: True,
}


class ServerHub(Hub):
    """Deliver events through a python-socketio server."""

    def __init__(self, server):
        self.server = server

    def deliver(self, event, data, *, channel, to=None, skip_sid=None, callback=None, offset=None):
        self.server.emit(
            event, packet_args(data, offset), namespace="/" + channel, to=to, skip_sid=skip_sid, callback=callback
        )

    def channel_of(self, sid):
        view = self.server.views.get(sid)
        return None if view is None else view.channel

    def unsubscribe(self, channel, sid):
        self.server.disconnect(sid, namespace=namespace_for(channel))

    def disconnect(self, channel, sid):
        eio_sid = self.server.manager.eio_sid_from_sid(sid, namespace_for(channel))
        if eio_sid is not None:
            self.server.eio.disconnect(eio_sid)

    def end_identity(self, *, session=None, user=None):
        self.server.end_identity(session=session, user=user)


class ChannelEngineIOServer(engineio.Server):
    """python-engineio's server, except that ending a session never waits for its client.

    python-engineio's ``disconnect()`` waits until the client has fetched every
    packet queued for it. A polling client with no GET pending never does, so
    a POST that carried a bad packet was never answered and its socket stayed
    in CLOSE_WAIT. The queued packets (the CLOSE packet among them) are still
    sent to a client that reads them. And a POST whose packet this server
    refused, or that python-engineio cannot decode, is answered with HTTP 400,
    not 200 (and, for the latter, a logged traceback), and so is a POST to a
    session its client closed (not 500). What waits to be sent to one
    connection is bounded (:mod:`socketio_views.queues`). A request for an
    existing session that does not come from the client that opened it
    (:meth:`socketio_views.identity.Identity.owns`) is refused before
    python-engineio sees it.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        #: Who opened each session: Engine.IO session id -> :class:`~socketio_views.identity.Identity`.
        self.identities = {}
        self._refusal = threading.local()
        self._queue_class = queues.metered_queue(
            self._async["queue"], views_settings.MAX_QUEUED_BYTES, views_settings.MAX_QUEUED_MESSAGES
        )
        if self._async.get("websocket") is not None:
            # A copy: python-engineio's driver table is shared by every server.
            self._async = {**self._async, "websocket": _checked_websocket(self._async["websocket"])}

    def create_queue(self, *args, **kwargs):
        return self._queue_class(*args, **kwargs)

    def handle_request(self, environ, start_response):
        query = environ.get("QUERY_STRING", "")
        sid = session_id(query)
        if sid is not None:
            owner = self.identities.get(sid)
            if owner is not None and not owner.owns(environ):
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
                r = self._bad_request("Not an Engine.IO payload")
                start_response(r["status"], r["headers"] + self._cors_headers(environ))
                return [r["response"]]
        return super().handle_request(environ, start_response)

    def _refuse_stranger(self, sid, environ, start_response):
        """Refuse a request for session ``sid`` from another client: HTTP 403, or a WebSocket closed with 1008.

        The session is not touched: its client keeps it, and the stranger
        gets nothing of what is queued for it.
        """
        error = SessionMismatch()
        address = clients.client_address(environ)
        dispatch.log_refusal(
            error, f"A request for connection {sid} from {address}", address, logging.WARNING, connection_id=sid
        )
        environ[LOGGED_KEY] = True
        websocket = environ.get("wsgi.websocket")
        if websocket is not None:
            _close_websocket(websocket, frames.POLICY_VIOLATION, error)
            return []
        start_response("403 Forbidden", [("Content-Type", "application/json")] + self._cors_headers(environ))
        return [json.dumps(error.as_dict()).encode()]

    def _decodes_post_body(self, environ):
        """Whether python-engineio can decode this POST's body, which stays readable.

        python-engineio decodes it outside its error handling for bad packets:
        a body such as ``x``, invalid UTF-8 or JSON nested too deep logged a
        traceback and was answered 200.
        """
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

    def shut_transport(self, socket):
        """Shut the TCP socket of ``socket``'s websocket, waking a writer blocked on a client that does not read."""
        websocket = getattr(socket, "websocket", None)
        handler = getattr(getattr(websocket, "_sock", None), "handler", None)
        raw = getattr(handler, "socket", None)
        if raw is not None:
            try:
                raw.shutdown(socket_module.SHUT_RDWR)
            except OSError:
                pass  # already closed


#: The Engine.IO packet types a text frame may start with (open, close, ping, pong, message, upgrade, noop).
ENGINEIO_TYPES = frozenset("0123456")

#: The Socket.IO packet types followed by binary attachments (binary event, binary ack).
BINARY_PACKET_TYPES = frozenset("56")


class NotAnEngineIOPacket(ValueError):
    """A websocket frame python-engineio cannot decode; it ends its connection."""


def _checked_websocket(websocket_class):
    """``websocket_class`` whose ``wait()`` refuses oversize messages from their header, and text frames that are not Engine.IO packets.

    With gevent-websocket, messages are read by :func:`socketio_views.frames.receive`,
    which refuses one larger than the server's ``max_http_buffer_size``
    (``MAX_MESSAGE_SIZE``) before reading its payload.

    python-engineio decodes a frame outside its error handling: a garbage
    frame (or one nesting JSON too deep to decode) escaped as a WSGI traceback
    and left the connection's subscriptions present until the ping timeout. Raised from ``wait()``, the error closes
    the connection at once, with one log line.
    """

    class CheckedWebSocket(websocket_class):
        def __init__(self, handler, server):
            super().__init__(handler, server)
            # The Engine.IO socket this transport serves, which may need to shut it.
            engineio_socket = getattr(handler, "__self__", None)
            if engineio_socket is not None:
                engineio_socket.websocket = self
            self.connection_id = getattr(engineio_socket, "sid", None)
            self.max_message_size = server.max_http_buffer_size
            # A polling session this websocket upgrades, until the upgrade is
            # counted (python-engineio has no hook for it).
            self.upgrading = engineio_socket if engineio_socket is not None and engineio_socket.connected else None
            self.meter = getattr(server, "meter", metrics.NULL_METER)

        def wait(self):
            if self.upgrading is not None and self.upgrading.upgraded:
                self.meter.connection_upgraded(self.upgrading.sid)
                self.upgrading = None
            ws = getattr(self, "_sock", None)
            if isinstance(ws, GeventWebSocket):
                try:
                    data = frames.receive(ws, self.max_message_size)
                except MessageTooLarge as error:
                    address = self.environ.get("REMOTE_ADDR")
                    dispatch.log_refusal(
                        error, f"A websocket message from {address}", address, logging.WARNING,
                        connection_id=self.connection_id,
                    )
                    raise
            else:
                data = super().wait()
            if isinstance(data, str) and not _is_engineio_packet(data):
                logger.warning(
                    "Closing a websocket: %r is not an Engine.IO packet", data[:40], connection_id=self.connection_id
                )
                raise NotAnEngineIOPacket("not an Engine.IO packet")
            return data

    return CheckedWebSocket


def _is_engineio_packet(data):
    """Whether python-engineio can decode text frame ``data``."""
    if data[:1] not in ENGINEIO_TYPES:
        return False
    try:
        engineio.packet.Packet(encoded_packet=data)
    except Exception:  # RecursionError: JSON nested deeper than the interpreter decodes
        return False
    return True


class ChannelServer(socketio.Server):
    """A ``socketio.Server`` whose every namespace is a channel served by a ChannelView."""

    def __init__(self, **options):
        super().__init__(namespaces="*", **{**DEFAULT_SERVER_OPTIONS, **options})
        #: What this process records (:mod:`socketio_views.metrics`).
        self.meter = self.eio.meter = metrics.get_meter()
        #: The Socket.IO Admin UI's instrumentation (:mod:`socketio_views.admin_ui`), or ``None``.
        self.admin_ui = None
        self.hub = ServerHub(self)
        #: The live subscriptions of this process: sid -> ChannelView.
        self.views = {}
        # (connection, namespace) -> view whose confirmation is about to be sent.
        self._confirming = {}
        # (connection, namespace) -> live packets held while its subscription is decided.
        self._subscribing = {}
        # connection -> _Gate holding live packets while history is replayed.
        self._gates = {}
        # connection -> the _Gate of its last replay, while broadcasts it replayed may still arrive live.
        self._replayed = {}
        # The event loop's cached time, when it is libev's (gevent's default on
        # Linux): how long ago the loop last polled for I/O.
        self._loop_clock = _libev_loop_clock() if self.async_mode == "gevent" else None
        # connection -> how many subscriptions it holds (MAX_SUBSCRIPTIONS).
        self._open = {}
        # connection -> how many acknowledgements it owes (MAX_PENDING_ACKS).
        self._pending_acks = {}
        #: Connections per client address (MAX_CONNECTIONS_PER_IP, HANDSHAKE_RATE).
        self.addresses = clients.AddressLimits()
        # Per greenlet (threading is patched): whether a connection is being ended.
        self._in_teardown = threading.local()
        self.on("connect", self._on_subscribe, namespace="*")
        self.on("disconnect", self._on_unsubscribe, namespace="*")
        self.on("*", self._on_event, namespace="*")

    def _on_subscribe(self, namespace, sid, *args):
        if self.manager.is_connected(sid, namespace):
            # python-socketio routes a client *event* named "connect" here.
            return self._refuse_reserved(sid, "connect", args)
        environ, auth = args[0], (args[1] if len(args) > 1 else None)
        eio_sid = self.manager.eio_sid_from_sid(sid, namespace)
        # python-socketio has put the subscriber in the channel's room
        # already: broadcasts that arrive while this handler runs (it may
        # read a recovery session) are held, not sent before the confirmation.
        held = self._subscribing[(eio_sid, namespace)] = []
        try:
            return self._subscribe(namespace, sid, eio_sid, environ, auth, held)
        finally:
            self._subscribing.pop((eio_sid, namespace), None)

    def _subscribe(self, namespace, sid, eio_sid, environ, auth, held):
        owner = self.eio.identities.get(eio_sid)
        refusal = environ.get(REFUSAL_KEY)
        if refusal is not None:
            # A WebSocket handshake this server refused: every subscription
            # hears why, then the connection closes.
            self.start_background_task(self._close_later, eio_sid)
            raise socketio.exceptions.ConnectionRefusedError(refusal.message, refusal.as_dict())
        try:
            view = dispatch.start_subscription(
                environ[ROUTER_KEY],
                self.hub,
                channel=namespace[1:],
                sid=sid,
                request=identity.subscription_request(environ[REQUEST_KEY], owner),
                auth=auth,
                connection_id=eio_sid,
                open_subscriptions=self._open.get(eio_sid, 0),
            )
            identity.note_subscription(owner, view.request)
        except ChannelError as error:
            if isinstance(error, OriginNotAllowed):
                # Nothing from this page will ever be served: close the
                # connection once the refusal has been delivered.
                self.start_background_task(self._close_later, eio_sid)
            raise socketio.exceptions.ConnectionRefusedError(error.message, error.as_dict())
        finally:
            release_db_connections()
        self.views[sid] = view
        self._open[eio_sid] = self._open.get(eio_sid, 0) + 1
        outbox = view.hub
        self.meter.subscribed(namespace, outbox.meter)
        if outbox.pid is None:
            for eio_pkt in held:
                self._queue(eio_sid, eio_pkt)
        # (With history, the replay after the confirmation covers what was held.)
        if outbox.pid is not None:
            # A channel with history: the confirmation carries the recovery
            # session id, then what the client missed is replayed.
            self._confirming[(eio_sid, namespace)] = view
            self.start_background_task(self._replay, view, eio_sid, namespace)
        elif outbox.held:
            # python-socketio confirms the subscription when this handler
            # returns; what on_subscribe sent is delivered right after that.
            self.start_background_task(outbox.release)
        else:
            outbox.release()
        return True

    def _on_unsubscribe(self, namespace, sid, *args):
        if self.manager.is_connected(sid, namespace):
            # A client event named "disconnect", not a disconnection.
            return self._refuse_reserved(sid, "disconnect", args)
        view = self.views.pop(sid, None)
        if view is not None:
            self.meter.unsubscribed(namespace, view.hub.meter)
            if self._open.get(view.connection_id, 0) > 1:
                self._open[view.connection_id] -= 1
            else:
                self._open.pop(view.connection_id, None)
            # python-socketio drops the subscription's callbacks that were never acknowledged.
            unacknowledged = len(self.manager.callbacks.get(sid, ())) - 1
            if unacknowledged > 0:
                self._acknowledged(view.connection_id, unacknowledged)
            try:
                dispatch.end_subscription(view, args[0] if args else None)
            finally:
                release_db_connections()

    def _on_event(self, event, namespace, sid, *args):
        view = self.views.get(sid)
        if view is None:
            return None
        try:
            return dispatch.handle_event(view, event, args)
        finally:
            release_db_connections()

    def emit(self, event, data=None, to=None, room=None, skip_sid=None, namespace=None, callback=None, ignore_queue=False):
        """python-socketio's ``emit()``; a ``callback`` counts against the recipient connection's ``MAX_PENDING_ACKS``."""
        if callback is not None:
            callback = self._await_ack(to or room, namespace or "/", callback)
            if callback is None:
                return
        super().emit(
            event, data, to=to, room=room, skip_sid=skip_sid, namespace=namespace, callback=callback,
            ignore_queue=ignore_queue,
        )

    def _await_ack(self, sid, namespace, callback):
        """Count an acknowledgement connection ``sid`` will owe; return the callback that pays it back.

        Past ``MAX_PENDING_ACKS``, end that connection instead (its client
        does not acknowledge) and return ``None``: nothing is sent.
        """
        eio_sid = self.manager.eio_sid_from_sid(sid, namespace)
        if eio_sid is None:
            return callback  # not a subscription of this process: python-socketio sends nothing
        owed = self._pending_acks.get(eio_sid, 0)
        limit = views_settings.MAX_PENDING_ACKS
        if limit is not None and owed >= limit:
            error = TooManyPendingAcks(
                f"{limit} messages sent to this connection await its acknowledgement (MAX_PENDING_ACKS); "
                f"acknowledge each as it arrives."
            )
            self._end_with_error(eio_sid, error, sid)
            return None
        self._pending_acks[eio_sid] = owed + 1

        def acknowledged(*args):
            self._acknowledged(eio_sid)
            return callback(*args)

        return acknowledged

    def _acknowledged(self, eio_sid, count=1):
        owed = self._pending_acks.get(eio_sid, 0) - count
        if owed > 0:
            self._pending_acks[eio_sid] = owed
        else:
            self._pending_acks.pop(eio_sid, None)

    def _end_with_error(self, eio_sid, error, sid=None):
        """Send ``error`` to subscription ``sid`` as an ``error`` event, then close its connection; log once per burst."""
        view = self.views.get(sid) if sid is not None else None
        fields = of_view(view) if view is not None else {"connection_id": eio_sid}
        dispatch.log_refusal(error, f"Connection {eio_sid}", eio_sid, logging.WARNING, **fields)
        if view is not None:
            super().emit("error", {**error.as_dict(), "event": None}, to=sid, namespace="/" + view.channel)
        self.eio.disconnect(eio_sid)

    def _send_packet(self, eio_sid, pkt):
        view = self._confirming.pop((eio_sid, pkt.namespace), None) if self._confirming else None
        if view is not None and pkt.packet_type == socketio.packet.CONNECT:
            pkt.data = {**pkt.data, "pid": view.hub.pid}
            super()._send_packet(eio_sid, pkt)
            # From now on the subscriber is live: hold its live packets until
            # the replay is sent (before python-socketio lets any reach it).
            self._gates.setdefault(eio_sid, _Gate()).pending += 1
            return
        try:
            super()._send_packet(eio_sid, pkt)
        except queues.Overflow:
            # Parts of a binary packet may be queued already: no second try.
            retry = None if pkt.packet_type in BINARY_PACKETS else lambda: super(ChannelServer, self)._send_packet(eio_sid, pkt)
            self._overflowed(eio_sid, pkt.namespace or "/", retry)

    def _send_eio_packet(self, eio_sid, eio_pkt):
        if self._subscribing:
            held = self._subscribing.get((eio_sid, queues.namespace_of(eio_pkt.data)))
            if held is not None:
                held.append(eio_pkt)
                return
        if self._gates:
            gate = self._gates.get(eio_sid)
            if gate is not None:
                gate.packets.append(eio_pkt)
                return
        if self._replayed and self._replayed_already(eio_sid, eio_pkt):
            return
        self._queue(eio_sid, eio_pkt)

    def _replayed_already(self, eio_sid, eio_pkt):
        """Whether a live broadcast for a just-recovered connection was sent by its replay already.

        With a pub/sub backend a broadcast is kept in history before it
        comes back from the backend to be delivered here: the replay may
        have read it from history. The check ends once a later broadcast of
        the channel arrives.
        """
        gate = self._replayed.get(eio_sid)
        if gate is None:
            return False
        if gate.replayed_already(eio_pkt, self.packet_class):
            return True
        namespace = queues.namespace_of(eio_pkt.data)
        if namespace in gate.replayed and isinstance(eio_pkt.data, str) and eio_pkt.data.startswith("2"):
            del gate.replayed[namespace]  # a later broadcast: what follows is new
            if not gate.replayed:
                del self._replayed[eio_sid]
        return False

    def _queue(self, eio_sid, eio_pkt):
        try:
            super()._send_eio_packet(eio_sid, eio_pkt)
        except queues.Overflow:
            self._overflowed(
                eio_sid,
                queues.namespace_of(eio_pkt.data),
                lambda: super(ChannelServer, self)._send_eio_packet(eio_sid, eio_pkt),
                attachments=queues.attachments_of(eio_pkt.data),
            )

    def _overflowed(self, eio_sid, namespace, retry=None, attachments=0):
        """A message for ``namespace`` did not fit in connection ``eio_sid``'s queue: apply the channel's policy.

        ``namespace`` is ``None`` for a binary attachment; ``retry`` sends the
        message again; ``attachments`` follow it.
        """
        socket = self.eio.sockets.get(eio_sid)
        if socket is None or socket.closing or socket.closed or socket.queue.ending:
            return
        queue = socket.queue
        if queue.skip_attachments and namespace is None:
            queue.skip_attachments -= 1  # an attachment of a dropped message
            return
        if queue.full_since is None:
            queue.full_since = time.monotonic()
            if retry is not None and self._wait_for_writer(socket, retry):
                return
        view = self.views.get(self.manager.sid_from_eio_sid(eio_sid, namespace)) if namespace else None
        policy = view.get_slow_consumer_policy() if view is not None else queues.DISCONNECT
        if policy == queues.DROP and time.monotonic() - queue.full_since < self.eio.ping_timeout:
            self._drop(eio_sid, queue, namespace, attachments)
        else:
            self._end_slow_consumer(eio_sid, socket, namespace)

    def _wait_for_writer(self, socket, retry):
        """Give the connection's writer ``OVERFLOW_WAIT`` seconds to make room, then send with ``retry``.

        A burst (a handler sending in a loop) outruns a healthy client's
        writer for a moment; a client that does not read makes no room.
        """
        queue = socket.queue
        deadline = time.monotonic() + OVERFLOW_WAIT
        while time.monotonic() < deadline:
            self.sleep(0.002)
            if socket.closing or socket.closed or queue.ending:
                return True  # nothing more to send to it
            try:
                retry()
            except queues.Overflow:
                continue
            queue.full_since = None
            return True
        return False

    def _drop(self, eio_sid, queue, namespace, attachments):
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
                eio_sid,
                namespace[1:],
                queue.bytes,
                connection_id=eio_sid,
                channel=namespace[1:],
            )

    def _end_slow_consumer(self, eio_sid, socket, namespace):
        """Discard what connection ``eio_sid`` has queued, tell it why, and close its transport."""
        queue = socket.queue
        queued = (queue.qsize(), queue.bytes)
        queue.ending = True
        self.meter.slow_consumer_ended(namespace)
        queue.discard()
        if namespace is not None:
            error = SlowConsumer()
            notice = self.packet_class(socketio.packet.EVENT, namespace=namespace, data=["error", error.as_dict()])
            queue.put_anyway(engineio.packet.Packet(engineio.packet.MESSAGE, data=notice.encode()))
        logger.warning(
            "Closing connection %s: slow consumer (%d messages, %d bytes queued on %r; full for %.2f s)",
            eio_sid,
            *queued,
            namespace and namespace[1:],
            time.monotonic() - queue.full_since if queue.full_since is not None else 0,
            connection_id=eio_sid,
            channel=namespace and namespace[1:],
            code=SlowConsumer.default_code,
        )
        self.start_background_task(self._close_slow_consumer, eio_sid, socket)

    def _close_slow_consumer(self, eio_sid, socket):
        # The transport closes, not the subscriptions: the official client
        # reconnects by itself, and recovers on channels with history.
        self.eio.disconnect(eio_sid, reason="slow consumer")
        self.sleep(SLOW_CONSUMER_GRACE)
        self.eio.shut_transport(socket)

    def _replay(self, view, eio_sid, namespace):
        """Send the history the subscriber missed, then the live packets held meanwhile, without duplicates."""
        outbox = view.hub
        gate = self._gates.get(eio_sid)
        while gate is None and (eio_sid, namespace) in self._confirming:
            self.sleep(0.001)  # the confirmation is not sent yet
            gate = self._gates.get(eio_sid)
        if gate is None:
            return  # the connection closed before it was confirmed
        last = outbox.resume_offset
        # A replay waits for a client that reads slowly, as long as a pong would.
        patience = time.monotonic() + self.eio.ping_timeout
        try:
            # What was read before the subscription went live, then what was
            # kept since; live packets wait in the gate meanwhile.
            last = self._send_entries(eio_sid, namespace, outbox.replay, patience) or last
            last = self._send_entries(eio_sid, namespace, history.catch_up(view, outbox), patience) or last
        except Exception:
            logger.exception("Could not replay the history of %r to %s", view.channel, view.sid, **of_view(view))
        finally:
            gate.replayed[namespace] = history.parse_offset(last)
            gate.pending -= 1
            if gate.pending == 0 and self._gates.get(eio_sid) is gate:
                del self._gates[eio_sid]
                for eio_pkt in gate.packets:
                    if not gate.replayed_already(eio_pkt, self.packet_class):
                        self._queue(eio_sid, eio_pkt)
                gate.packets = []
                gate.replayed = {ns: offset for ns, offset in gate.replayed.items() if offset is not None}
                if gate.replayed and eio_sid in self.eio.sockets:
                    self._replayed[eio_sid] = gate
        outbox.release()
        release_db_connections()

    def _send_entries(self, eio_sid, namespace, entries, patience):
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
                    super()._send_packet(eio_sid, pkt)
                    sent += 1
                    break
                except queues.Overflow:
                    socket = self.eio.sockets.get(eio_sid)
                    if socket is None or socket.queue.ending or time.monotonic() > patience:
                        self._overflowed(eio_sid, namespace)
                        break
                    self.sleep(0.01)
            if count % REPLAY_BATCH == 0:
                self.sleep(0.001)  # a long replay lets other connections in (sleep(0) polls no I/O)
        self.meter.replayed(namespace, sent)
        return entries[-1].offset if entries else None

    def _close_later(self, eio_sid, delay=1):
        self.sleep(delay)
        if eio_sid in self.eio.sockets:
            self.eio.disconnect(eio_sid)

    def end_identity(self, *, session=None, user=None):
        """End the subscriptions opened with session hash ``session`` or by user key ``user``, in every process.

        With a pub/sub backend the other processes are told through it; this
        one ends its own in a greenlet of their own (the caller, a logout
        view, may be inside a transaction).
        """
        if isinstance(self.manager, socketio.PubSubManager):
            self.manager._publish(identity.control_message(self.manager, session=session, user=user))
        self.start_background_task(self.end_identity_here, session=session, user=user)

    def end_identity_here(self, session=None, user=None):
        """End, in this process, what :meth:`end_identity` ends.

        The connections concerned become anonymous for their later
        subscriptions; each subscription of an authenticated one gets the
        ``logged_out`` error, then is unsubscribed (the connection stays).
        """
        ended = {}
        for eio_sid, owner in list(self.eio.identities.items()):
            if owner.matches(session=session, user=user):
                environ = self.environ.get(eio_sid) or {}
                ended[eio_sid] = owner.user is not None
                identity.end(owner, environ.get(REQUEST_KEY))
        if not ended:
            return
        error = {**LoggedOut().as_dict(), "event": None}
        count = 0
        try:
            for sid, view in list(self.views.items()):
                if not ended.get(view.connection_id) or self.views.get(sid) is not view:
                    continue  # not concerned, or ended meanwhile (a teardown may let another greenlet in)
                namespace = namespace_for(view.channel)
                super().emit("error", error, to=sid, namespace=namespace, ignore_queue=True)
                self.disconnect(sid, namespace=namespace, ignore_queue=True)
                count += 1
            if self.admin_ui is not None:
                self.admin_ui.end([eio_sid for eio_sid, authenticated in ended.items() if authenticated])
        finally:
            release_db_connections()
        logger.info("Logged out %d subscription(s) of %d connection(s)", count, len(ended))

    def _refuse_reserved(self, sid, event, args):
        view = self.views.get(sid)
        if view is not None:
            return dispatch.handle_event(view, event, args)

    def _engineio_server_class(self):
        return ChannelEngineIOServer

    def _handle_eio_connect(self, eio_sid, environ):
        super()._handle_eio_connect(eio_sid, environ)
        self.eio.identities[eio_sid] = identity.Identity.of(environ)
        self.addresses.opened(eio_sid, environ)
        request = environ.get(REQUEST_KEY)
        transport = "websocket" if "transport=websocket" in environ.get("QUERY_STRING", "") else "polling"
        self.meter.connection_opened(eio_sid, transport)
        logger.info("Connection %s from %s (%s)", eio_sid, environ.get("REMOTE_ADDR"), transport, connection_id=eio_sid)
        signals.connected.send(sender=None, connection_id=eio_sid, request=request, sid=eio_sid)

    def _handle_event(self, eio_sid, namespace, id, data):
        namespace = namespace or "/"
        if not self.manager.is_connected(self.manager.sid_from_eio_sid(eio_sid, namespace), namespace):
            # python-socketio would drop it silently; tell the client why.
            error = NotSubscribed(f"Not subscribed to {namespace[1:]!r}; subscribe before emitting.")
            self.meter.refused(None, error.code)
            self._send_packet(
                eio_sid,
                self.packet_class(
                    socketio.packet.CONNECT_ERROR,
                    data={"message": error.message, "data": error.as_dict()},
                    namespace=namespace,
                ),
            )
            return
        super()._handle_event(eio_sid, namespace, id, data)

    def _handle_eio_message(self, eio_sid, data):
        if self._loop_clock is not None and time.time() - self._loop_clock() > FAIR_SLICE:
            # This connection's packets have held the process for a while
            # (a pipelined burst): let the event loop serve the others first.
            self.sleep(0.0005)
        socket = self.eio.sockets.get(eio_sid)
        if socket is None or socket.closing or socket.closed:
            # The rest of a polling payload, or frames read after the one
            # that ended this connection: nothing is left to handle them.
            return
        if isinstance(data, str) and data[:1] in BINARY_PACKET_TYPES and eio_sid not in self._binary_packet:
            limit = views_settings.MAX_ATTACHMENTS
            count = queues.attachments_of(data)
            if limit is not None and count > limit:
                error = TooManyAttachments(
                    f"An event may carry at most {limit} binary attachments (MAX_ATTACHMENTS); "
                    f"this one announced {count}."
                )
                return self._refuse_packet(eio_sid, data, error)
        try:
            super()._handle_eio_message(eio_sid, data)
        except Exception as exc:
            # Only what no correct client sends gets here (handlers never
            # raise): a malformed or unexpected Socket.IO packet.
            logger.warning(
                "Closing connection %s: malformed Socket.IO packet (%s: %s)", eio_sid, type(exc).__name__, exc,
                connection_id=eio_sid,
            )
            self._close_refused(eio_sid, "Malformed Socket.IO packet")

    def _refuse_packet(self, eio_sid, data, error):
        """Refuse the event in ``data`` with ``error`` (the ``error`` event and ack), then close its connection.

        Its subscription, if it has one, gets the refusal as any refused
        event does; the packet is not decoded further.
        """
        try:
            pkt = self.packet_class(encoded_packet=data)
        except Exception:
            pkt = None
        sid = self.manager.sid_from_eio_sid(eio_sid, pkt.namespace or "/") if pkt is not None else None
        view = self.views.get(sid) if sid is not None else None
        if view is None:
            dispatch.log_refusal(
                error, f"A packet of connection {eio_sid}", eio_sid, logging.WARNING, connection_id=eio_sid
            )
        else:
            event = pkt.data[0] if isinstance(pkt.data, list) and pkt.data else None
            ack = dispatch.report_event_error(view, event, error)
            if pkt.id is not None:
                self._send_packet(
                    eio_sid, self.packet_class(socketio.packet.ACK, namespace=pkt.namespace, data=[ack], id=pkt.id)
                )
        self._close_refused(eio_sid, error.message)

    def _close_refused(self, eio_sid, message):
        """Close a connection whose client sent what this server refuses; a long-polling POST gets HTTP 400."""
        socket = self.eio.sockets.get(eio_sid)
        self.eio.disconnect(eio_sid)
        if socket is not None and not socket.upgraded:
            self.eio.refuse_request(message)

    def _handle_eio_disconnect(self, eio_sid, reason):
        if getattr(self._in_teardown, "active", False):
            # A teardown's broadcast reached a socket that had timed out, and
            # python-engineio closed it from inside send(): end that one in
            # its own greenlet, or 300 such sockets nest 300 teardowns deep.
            self.start_background_task(self._handle_eio_disconnect, eio_sid, reason)
            return
        self._in_teardown.active = True
        try:
            self._end_connection(eio_sid, reason)
        finally:
            self._in_teardown.active = False

    def _end_connection(self, eio_sid, reason):
        self._gates.pop(eio_sid, None)
        self._replayed.pop(eio_sid, None)
        self._open.pop(eio_sid, None)
        self._pending_acks.pop(eio_sid, None)
        self.eio.identities.pop(eio_sid, None)
        self.addresses.closed(eio_sid)
        for key in [key for key in self._confirming if key[0] == eio_sid]:
            del self._confirming[key]
        try:
            super()._handle_eio_disconnect(eio_sid, reason)
        finally:
            self.meter.connection_closed(eio_sid)
            logger.info("Connection %s closed (%s)", eio_sid, reason, connection_id=eio_sid)
            signals.disconnected.send(sender=None, connection_id=eio_sid, reason=reason, sid=eio_sid)


class _Gate:
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
        offset = history.parse_offset(pkt.data[-1]) if isinstance(pkt.data, list) and len(pkt.data) > 2 else None
        return last is not None and offset is not None and offset <= last


def make_server():
    """A :class:`ChannelServer` from the settings, instrumented for the Admin UI if ``ADMIN_UI`` is on."""
    options = {
        "client_manager": server_manager(),
        "max_http_buffer_size": views_settings.MAX_MESSAGE_SIZE,
        **views_settings.SERVER_OPTIONS,
    }
    server = ChannelServer(**options)
    from .admin_ui import instrument

    server.admin_ui = instrument(server)
    return server


_server = ProcessWide(make_server, keep_between_tests=True)


def get_server():
    """Return this process's :class:`ChannelServer`, creating it from the settings on first use."""
    return _server.get()


def server_exists():
    """Whether this process has created its socket server (it serves, or served, sockets)."""
    return _server.exists()


def _asks_for_jsonp(query_string):
    # Engine.IO's "j" parameter, read without building request.GET on every handshake.
    if "j" not in query_string and "%" not in query_string:
        return False
    return "j" in parse_qs(query_string, keep_blank_values=True)


@csrf_exempt
@transaction.non_atomic_requests
def endpoint_view(request, router):
    """Serve Engine.IO requests (polling and websocket) for the channels of ``router``."""
    environ = request.environ
    if _asks_for_jsonp(environ.get("QUERY_STRING", "")):
        # JSONP polling would let another site's <script> open a session
        # without an Origin header; no current client needs it.
        return JsonResponse(JsonpRefused().as_dict(), status=400)
    unsupported = refuse_unsupported_server(environ)
    if unsupported is not None:
        return unsupported
    if _is_handshake(environ):
        draining = drain.refusal()
        if draining is not None:
            return _refuse_while_draining(environ, draining)
        error = get_server().addresses.refusal(environ)
        if error is not None:
            if environ.get("wsgi.websocket") is None:
                return _refuse_handshake(environ, error)
            # gevent-websocket accepted the upgrade before Django saw the
            # request: no status can answer it, and a browser hides a close
            # frame's reason. The connection opens, each subscription is
            # refused with the error (connect_error), and it closes a second later.
            _log_handshake_refusal(environ, error)
            environ[REFUSAL_KEY] = error
    environ[ROUTER_KEY] = router
    environ[REQUEST_KEY] = request
    # A websocket may stay open for hours: do not hold the connection that
    # middleware (sessions, auth) may have opened for it.
    release_db_connections(always=True)
    if environ.get("wsgi.websocket") is not None:
        return WebSocketResponse(environ)
    started = {}

    def start_response(status, headers, exc_info=None):
        started["status"], started["headers"] = status, headers

    body = get_server().handle_request(environ, start_response)
    response = HttpResponse(b"".join(body), status=int(started["status"].split(" ", 1)[0]))
    for name, value in started["headers"]:
        response[name] = value
    if environ.get(LOGGED_KEY):
        # Logged once per burst; not by django.request for each refused request.
        response._has_been_logged = True
    if _leave_body_unread(environ) or drain.is_draining():
        # While draining, a keep-alive connection would bring the client's
        # next handshake here again: it reconnects through the load balancer.
        response["Connection"] = "close"
    return response


#: The refusals of :func:`refuse_unsupported_server` this process has logged (one warning each, not one per request).
_unsupported_logged = set()

#: Why an unpatched process refuses every Engine.IO request.
UNPATCHED_MESSAGE = (
    "This server cannot serve Socket.IO connections: gevent has not patched its process (Django's runserver "
    "serves long-polling in threads that gevent cannot share, and no WebSockets). Serve the project with "
    "`manage.py runserver_socketio` in development, or with gunicorn's "
    "geventwebsocket.gunicorn.workers.GeventWebSocketWorker worker in production."
)


def refuse_unsupported_server(environ):
    """Refuse a request the server in front cannot serve with HTTP 400 ``websocket_unsupported``; else return ``None``.

    * In a process gevent did not patch (Django's ``runserver``, a WSGI
      server without gevent), every Engine.IO request: python-socketio runs
      in gevent mode, and long-polling there failed in the threads
      (``Waiter.switch`` errors, then ``transport error``), so it is refused
      at once rather than half-work.
    * A WebSocket request that reached Django un-upgraded. gevent-websocket's
      handler (``runserver_socketio``, gunicorn's ``GeventWebSocketWorker``)
      upgrades it before Django sees it and leaves the socket in
      ``environ["wsgi.websocket"]``. Without it, python-engineio raised
      ``RuntimeError`` (HTTP 500, "gevent-websocket server is not configured
      appropriately") and, for an upgrade, closed the polling session too;
      now that session is left alone, and the official clients stay on
      long-polling when their upgrade fails.

    Each reason is logged once per process, as a warning that says what to do.
    """
    query = environ.get("QUERY_STRING", "")
    if not monkey.is_patched():
        error = WebSocketUnsupported(UNPATCHED_MESSAGE)
    elif "websocket" not in query or environ.get("wsgi.websocket") is not None:
        return None
    elif parse_qs(query).get("transport") != ["websocket"]:
        return None
    elif "websocket" in environ.get("HTTP_UPGRADE", "").lower():
        error = WebSocketUnsupported()
    else:
        error = WebSocketUnsupported(
            "This WebSocket request arrived without its Upgrade header: a proxy in front of the server "
            "drops it. Make the proxy pass the Upgrade and Connection headers (nginx: "
            "proxy_http_version 1.1; proxy_set_header Upgrade $http_upgrade; "
            'proxy_set_header Connection "upgrade").'
        )
    if error.message not in _unsupported_logged:
        _unsupported_logged.add(error.message)
        logger.warning("Socket.IO requests refused (%s): %s", error.code, error.message, code=error.code)
    response = JsonResponse(error.as_dict(), status=400)
    # Logged once per process above; not by django.request for each request.
    response._has_been_logged = True
    return response


def _close_websocket(websocket, code, error):
    """Close a refused WebSocket with ``code`` and ``error`` as its reason (gevent-websocket's); other kinds plainly."""
    if isinstance(websocket, GeventWebSocket):
        frames.close(websocket, code, error)
    else:
        websocket.close()


def _refuse_while_draining(environ, error):
    """Refuse a handshake while this process drains: HTTP 503, or a WebSocket closed with 1013 (try again later).

    Not logged per request: a drain refuses every handshake the load
    balancer still sends here.
    """
    environ[LOGGED_KEY] = True
    websocket = environ.get("wsgi.websocket")
    if websocket is not None:
        _close_websocket(websocket, frames.TRY_AGAIN_LATER, error)
        response = HttpResponse(status=101)
    else:
        response = JsonResponse(error.as_dict(), status=503)
        response["Retry-After"] = "1"
        response["Connection"] = "close"
    response._has_been_logged = True
    return response


def _is_handshake(environ):
    """Whether the request opens a new Engine.IO connection (a GET without a session id)."""
    return environ.get("REQUEST_METHOD") == "GET" and session_id(environ.get("QUERY_STRING", "")) is None


def _refuse_handshake(environ, error):
    """Answer a long-polling handshake refused with ``error`` (``too_many_connections``, ``too_many_handshakes``): HTTP 429."""
    _log_handshake_refusal(environ, error)
    response = JsonResponse(error.as_dict(), status=429)
    retry_after = clients.retry_after_header(error)
    if retry_after is not None:
        response["Retry-After"] = retry_after
    # Logged once per burst; not by django.request for each refused request.
    response._has_been_logged = True
    return response


def _log_handshake_refusal(environ, error):
    address = clients.client_address(environ)
    dispatch.log_refusal(error, f"Connection from {address}", address, logging.WARNING)


def _leave_body_unread(environ):
    """Whether gevent's server is told not to read the rest of a large body that python-engineio refused unread.

    gevent's server reads and discards what is left of a request body, so
    that the connection can serve another request and the client, which may
    still be sending, gets the response: 50 MB arriving over the loopback
    held the process for about 350 ms. Past :data:`DISCARD_LIMIT` bytes (or
    a chunked body, which python-engineio never reads), the connection is
    closed instead; a client still sending sees it reset.
    """
    stream = environ.get("wsgi.input")
    if not isinstance(stream, pywsgi.Input):
        return False
    if not stream.chunked_input and (stream.content_length or 0) - stream.position <= DISCARD_LIMIT:
        return False
    stream.position, stream.chunked_input = stream.content_length or 0, False
    return True


class WebSocketResponse(StreamingHttpResponse):
    """The endpoint's response to a WebSocket request: reading its body serves the socket.

    The WSGI server reads the body once Django's handler and middleware have
    returned, so each idle connection's greenlet keeps a short stack (less
    memory, cheaper switches). The request finishes when the socket closes,
    also under gevent-websocket, which never closes a WebSocket request's
    response: through Django's handler, ``request_finished`` is sent then; on
    the lean path (:mod:`socketio_views.wsgi`), which sends no request
    signals, the database connections the socket's greenlet still holds are
    closed.
    """

    def __init__(self, environ):
        super().__init__(status=101)
        self.environ = environ

    def __iter__(self):
        sid = session_id(self.environ.get("QUERY_STRING", ""))
        try:
            get_server().handle_request(self.environ, lambda status, headers, exc_info=None: None)
        except Exception as exc:
            if sid is None:
                raise
            # Raised while upgrading a polling session, where python-engineio
            # catches nothing (a refused or oversize frame): the websocket is
            # done, and the session, whose upgrade never ends, too.
            if not isinstance(exc, NotAnEngineIOPacket):  # that one was logged already
                logger.warning(
                    "Closing connection %s: its websocket upgrade failed (%s: %s)", sid, type(exc).__name__, exc,
                    connection_id=sid,
                )
            get_server().eio.disconnect(sid)
        finally:
            self.close()
        yield b""

    def close(self):
        if self.closed:
            return
        from .wsgi import LEAN_KEY, close_quietly

        if self.environ.get(LEAN_KEY):
            # Django's request_finished would close what the socket's
            # handlers left open; the lean path sends no request signals.
            close_quietly(self)
            release_db_connections(always=True)
        else:
            super().close()
