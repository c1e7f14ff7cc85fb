"""
The process-wide Socket.IO server: connections open and close, subscriptions start and end, identities end.

Each channel is a Socket.IO namespace (channel ``rooms/lobby`` is namespace
``/rooms/lobby``); python-socketio's catch-all namespace hands every namespace
to :mod:`socketio_views.dispatch`, which routes it through the router the
connection arrived by. :class:`ChannelServer` is assembled from one part per
concern: :mod:`~socketio_views.transport.acks`, :mod:`~socketio_views.transport.guards`,
:mod:`~socketio_views.transport.replay` and :mod:`~socketio_views.transport.delivery`,
on the adapter :mod:`~socketio_views.transport.engine`.

Example usage::

    from socketio_views.transport.server import get_server

    server = get_server()
    len(server.connections), len(server.views)
"""
import logging
import threading

import socketio

from .. import dispatch, drain, identity, metrics, signals
from ..admin_ui import instrument
from ..conf import views_settings
from ..db import release_db_connections
from ..exceptions import ChannelError, LoggedOut, OriginNotAllowed
from ..logs import logger, of_view
from ..sending import Hub, namespace_for, packet_args
from ..state import ProcessWide
from .acks import Acks
from .connections import Connections
from .delivery import Delivery
from .engine import SocketIOServer
from .environ import REQUEST_KEY, ROUTER_KEY, transport_of
from .guards import Guards, libev_loop_clock
from .managers import server_manager
from .pacing import SubscriptionTurns, Teardowns
from .replay import Replay

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
        connection_id = self.server.manager.eio_sid_from_sid(sid, namespace_for(channel))
        if connection_id is not None:
            self.server.eio.disconnect(connection_id)

    def end_identity(self, *, session=None, user=None):
        self.server.end_identity(session=session, user=user)

    def recheck_users(self, users):
        self.server.recheck_users(users)


class Held(list):
    """The packets of a channel held for a connection while its subscription is decided."""

    #: Released by a greenlet once python-socketio has sent the confirmation, not when the decision ends.
    released_later = False


class ChannelServer(Acks, Guards, Replay, Delivery, SocketIOServer):
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
        #: The open connections of this process (:class:`~socketio_views.transport.connections.Connections`).
        self.connections = self.eio.connections = Connections()
        # How long ago the event loop last polled for I/O (libev only).
        self._loop_clock = libev_loop_clock() if self.async_mode == "gevent" else None
        # Per greenlet (threading is patched): whether a connection is being ended.
        self._in_teardown = threading.local()
        #: Teardowns of connections that ended together (:class:`Teardowns`).
        self.teardowns = Teardowns(self)
        #: Subscriptions decided a few at a time (:class:`~socketio_views.transport.pacing.SubscriptionTurns`).
        self.subscription_turns = SubscriptionTurns(views_settings.MAX_SUBSCRIPTIONS_IN_PROGRESS)
        self.on("connect", self._on_subscribe, namespace="*")
        self.on("disconnect", self._on_unsubscribe, namespace="*")
        self.on("*", self._on_event, namespace="*")
        drain.serve(self.eio)

    @property
    def addresses(self):
        """Connections per client address (``MAX_CONNECTIONS_PER_IP``, ``HANDSHAKE_RATE``)."""
        return self.connections.addresses

    # Connections.

    def connection_opened(self, connection_id, environ):
        self.connections.open(connection_id, environ)
        request = environ.get(REQUEST_KEY)
        transport = transport_of(environ)
        self.meter.connection_opened(connection_id, transport)
        logger.info(
            "Connection %s from %s (%s)", connection_id, environ.get("REMOTE_ADDR"), transport,
            connection_id=connection_id,
        )
        signals.connected.send(sender=None, connection_id=connection_id, request=request, sid=connection_id)

    def connection_closed(self, connection_id, reason):
        """Release connection ``connection_id``'s record at once, and tear its subscriptions down now or in a batch.

        Its record (:meth:`Connections.close`: the per-address counts) and
        its metric go at once. Its teardown (each subscription's
        ``on_disconnect``, presence, the ``disconnected`` signal) runs here,
        unless many connections end at once (see :class:`Teardowns`) or a
        teardown is running in this greenlet: a teardown's broadcast reached
        a socket that had timed out, and python-engineio closed it from
        inside ``send()``, which would nest 300 such teardowns 300 deep. A
        drain's closes are always torn down here: the drain bounds and
        counts them itself.
        """
        if self.connections.get(connection_id) is not None:
            self.connections.close(connection_id)
            self.meter.connection_closed(connection_id)
        nested = getattr(self._in_teardown, "active", False)
        if reason != drain.REASON and (nested or self.teardowns.crowded()):
            self.teardowns.put(connection_id, reason)
            return
        self.end_connection(connection_id, reason)

    def end_connection(self, connection_id, reason):
        """End the subscriptions of closed connection ``connection_id``, log it and send ``disconnected``."""
        self._in_teardown.active = True
        try:
            self.end_subscriptions(connection_id, reason)
        finally:
            self._in_teardown.active = False
            logger.info("Connection %s closed (%s)", connection_id, reason, connection_id=connection_id)
            signals.disconnected.send(sender=None, connection_id=connection_id, reason=reason, sid=connection_id)

    def _close_later(self, connection_id, delay=1):
        self.sleep(delay)
        if connection_id in self.eio.sockets:
            self.eio.disconnect(connection_id)

    # Subscriptions.

    def _on_subscribe(self, namespace, sid, *args):
        if self.manager.is_connected(sid, namespace):
            # python-socketio routes a client *event* named "connect" here.
            return self._refuse_reserved(sid, "connect", args)
        environ, auth = args[0], (args[1] if len(args) > 1 else None)
        connection = self.connections.get(self.manager.eio_sid_from_sid(sid, namespace))
        if connection is None:
            return False  # closed meanwhile
        # python-socketio has put the subscriber in the channel's room
        # already: broadcasts that arrive while this handler runs (it may
        # wait for its turn, read a recovery session) are held, not sent
        # before the confirmation.
        held = connection.subscribing[namespace] = Held()
        try:
            # Confirmed only once this process hears the channel's broadcasts
            # from the backend: the subscriber misses nothing sent after.
            self.manager.wait_until_routed(namespace)
            with self.subscription_turns.turn():
                if connection.closed:
                    return False  # gone while it waited its turn
                return self._subscribe(namespace, sid, connection, environ, auth, held)
        finally:
            if not held.released_later and connection.subscribing.get(namespace) is held:
                del connection.subscribing[namespace]

    def _subscribe(self, namespace, sid, connection, environ, auth, held):
        # A WebSocket handshake this server refused has each subscription
        # refused by the packet guards (Guards._refuse_subscription).
        over_budget = self.connections.reserve_subscription(connection)
        if over_budget is not None:
            dispatch.log_refusal(over_budget, f"Subscription to {namespace[1:]!r}", connection.id, connection_id=connection.id)
            raise socketio.exceptions.ConnectionRefusedError(over_budget.message, over_budget.as_dict())
        try:
            view = dispatch.start_subscription(
                environ[ROUTER_KEY],
                self.hub,
                channel=namespace[1:],
                sid=sid,
                request=identity.subscription_request(environ[REQUEST_KEY], connection.identity),
                auth=auth,
                connection_id=connection.id,
                open_subscriptions=len(connection.subscriptions),
            )
            identity.note_subscription(connection.identity, view.request)
        except BaseException as error:
            self.connections.release_subscription(connection)
            if not isinstance(error, ChannelError):
                raise
            if isinstance(error, OriginNotAllowed):
                # Nothing from this page will ever be served: close the
                # connection once the refusal has been delivered.
                self.start_background_task(self._close_later, connection.id)
            raise socketio.exceptions.ConnectionRefusedError(error.message, error.as_dict())
        finally:
            release_db_connections()
        self.views[sid] = view
        if connection.closed:
            # Closed while it was decided: close() counted only what it held then.
            self.connections.release_subscription(connection)
        connection.subscribed(view)
        outbox = view.hub
        self.meter.subscribed(namespace, outbox.meter)
        if outbox.pid is not None:
            # A channel with history: the replay after the confirmation covers what was held.
            self.confirm_with_history(connection, view, namespace)
            return True
        # python-socketio confirms the subscription when this handler returns:
        # what was held, then what on_subscribe sent, go right after that.
        held.released_later = True
        self.start_background_task(self._release_held, connection, namespace, held, outbox)
        return True

    def _release_held(self, connection, namespace, held, outbox):
        """Once the subscription is confirmed: the broadcasts held while it was decided, then what ``on_subscribe`` sent."""
        if connection.subscribing.get(namespace) is held:
            del connection.subscribing[namespace]
        if not connection.closed:
            for eio_pkt in held:
                self.queue(connection.id, eio_pkt)
        outbox.release()

    def _on_unsubscribe(self, namespace, sid, *args):
        if self.manager.is_connected(sid, namespace):
            # A client event named "disconnect", not a disconnection.
            return self._refuse_reserved(sid, "disconnect", args)
        view = self.views.pop(sid, None)
        if view is not None:
            self.meter.unsubscribed(namespace, view.hub.meter)
            connection = self.connections.get(view.connection_id)
            if connection is not None:
                self.connections.unsubscribed(connection, sid)
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

    def _refuse_reserved(self, sid, event, args):
        view = self.views.get(sid)
        if view is not None:
            return dispatch.handle_event(view, event, args)

    # Errors.

    def error_packet(self, namespace, payload):
        """The Socket.IO packet of the ``error`` event with ``payload`` on ``namespace``."""
        return self.packet_class(socketio.packet.EVENT, namespace=namespace, data=["error", payload])

    def send_error(self, sid, namespace, error, *, ignore_queue=False):
        """Send ``error`` (a :exc:`~socketio_views.exceptions.ChannelError`) to subscription ``sid`` as the ``error`` event."""
        self.emit("error", error.as_event(), to=sid, namespace=namespace, ignore_queue=ignore_queue)

    def end_with_error(self, connection_id, error, sid=None):
        """Send ``error`` to subscription ``sid`` as an ``error`` event, then close its connection; log once per burst."""
        view = self.views.get(sid) if sid is not None else None
        fields = of_view(view) if view is not None else {"connection_id": connection_id}
        dispatch.log_refusal(error, f"Connection {connection_id}", connection_id, logging.WARNING, **fields)
        if view is not None:
            self.send_error(sid, namespace_for(view.channel), error)
        self.eio.disconnect(connection_id)

    # Identities.

    def end_identity(self, *, session=None, user=None):
        """End the subscriptions opened with session hash ``session`` or by user key ``user``, in every process.

        With a pub/sub backend the message goes to every process, this one
        included; without one, this process ends its own in a greenlet of
        their own (the caller, a logout view, may be inside a transaction).
        """
        if isinstance(self.manager, socketio.PubSubManager):
            self.manager.emit(identity.ENDED_EVENT, {"session": session, "user": user}, namespace=identity.CONTROL_NAMESPACE)
        else:
            self.start_background_task(self.end_identity_here, session=session, user=user)

    def end_identity_here(self, session=None, user=None):
        """End, in this process, what :meth:`end_identity` ends.

        The connections concerned become anonymous for their later
        subscriptions; each subscription of an authenticated one gets the
        ``logged_out`` error, then is unsubscribed (the connection stays).
        """
        ended = {}
        for connection in self.connections:
            if connection.identity.matches(session=session, user=user):
                ended[connection.id] = connection.identity.user is not None
                identity.end(connection.identity, connection.request)
        if not ended:
            return
        error = LoggedOut()
        count = 0
        try:
            for sid, view in list(self.views.items()):
                if not ended.get(view.connection_id) or self.views.get(sid) is not view:
                    continue  # not concerned, or ended meanwhile (a teardown may let another greenlet in)
                namespace = namespace_for(view.channel)
                self.send_error(sid, namespace, error, ignore_queue=True)
                self.disconnect(sid, namespace=namespace, ignore_queue=True)
                count += 1
            if self.admin_ui is not None:
                self.admin_ui.end([connection_id for connection_id, authenticated in ended.items() if authenticated])
        finally:
            release_db_connections()
        logger.info("Logged out %d subscription(s) of %d connection(s)", count, len(ended))


    def recheck_users(self, users):
        """Run the access checks of every subscription of the users keyed ``users`` again, in every process.

        Sent as :meth:`end_identity` sends its message; see
        :mod:`socketio_views.revocation`.
        """
        users = [str(key) for key in users]
        if not users:
            return
        if isinstance(self.manager, socketio.PubSubManager):
            self.manager.emit(identity.ENDED_EVENT, {"recheck": users}, namespace=identity.CONTROL_NAMESPACE)
        else:
            self.start_background_task(self.recheck_users_here, users)

    def recheck_users_here(self, users):
        """Run, in this process, what :meth:`recheck_users` runs; end each subscription that fails with ``access_revoked``."""
        users = set(users)
        count = 0
        try:
            for connection in self.connections:
                if connection.identity.ended or connection.identity.user not in users:
                    continue
                views = list(connection.subscriptions.values())
                for view, error in identity.recheck(connection.identity, connection.request, views):
                    if self.views.get(view.sid) is not view:
                        continue  # ended meanwhile
                    namespace = namespace_for(view.channel)
                    dispatch.log_refusal(error, f"Subscription to {view.channel!r}", connection.id, **of_view(view))
                    self.send_error(view.sid, namespace, error, ignore_queue=True)
                    self.disconnect(view.sid, namespace=namespace, ignore_queue=True)
                    count += 1
        finally:
            release_db_connections()
        if count:
            logger.info("Revoked %d subscription(s) of %d user(s)", count, len(users))


def make_server():
    """A :class:`ChannelServer` from the settings, instrumented for the Admin UI if ``ADMIN_UI`` is on."""
    options = {
        "client_manager": server_manager(),
        "max_http_buffer_size": views_settings.MAX_MESSAGE_SIZE,
        **views_settings.SERVER_OPTIONS,
    }
    server = ChannelServer(**options)
    server.admin_ui = instrument(server)
    return server


_server = ProcessWide(make_server, keep_between_tests=True)


def get_server():
    """Return this process's :class:`ChannelServer`, creating it from the settings on first use."""
    return _server.get()


def server_exists():
    """Whether this process has created its socket server (it serves, or served, sockets)."""
    return _server.exists()
