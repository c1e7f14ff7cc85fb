"""
A synchronous, in-memory channel test client, in the spirit of Phoenix's ChannelTest.

Example usage::

    from socketio_views.testing import ChannelTestClient

    alice = ChannelTestClient(user=alice_user)
    bob = ChannelTestClient(auth={"name": "bob"})
    room = alice.subscribe("rooms/lobby")
    bob.subscribe("rooms/lobby")
    assert room.emit("message", {"text": "hi"}) == {"ok": True}
    bob.assert_received("message", {"user": "alice", "text": "hi"})

No server, network or event loop: routing, mixins, handlers and signals run
through :mod:`socketio_views.dispatch`, the same code that serves real
clients, and payloads make the same JSON round trip they make on the wire.
"""
import contextlib
import copy
import itertools
import json
import warnings
from importlib import import_module
from unittest.mock import ANY

import attrs
from django.apps import apps
from django.conf import settings
from django.test import RequestFactory

from .. import dispatch, hubs, identity, queues, recovery, sending, signals
from ..conf import views_settings
from ..exceptions import ChannelError, LoggedOut, SlowConsumer, SubscriptionRefused
from ..mounts import mounted_routers
from ..payloads import wire
from ..state import reset_process_state

CLIENT_DISCONNECT = "client disconnect"
SERVER_DISCONNECT = "server disconnect"
SLOW_CONSUMER = "slow consumer"

_ids = itertools.count(1)


@attrs.frozen
class Received:
    """One event a test client received (``offset``: its history offset, on channels with history)."""

    channel: str
    event: str
    data: object
    offset: str | None = None


@attrs.frozen
class Broadcast:
    """One broadcast made on a channel (``skip_sid`` is the excluded subscriber, if any)."""

    channel: str
    event: str
    data: object
    skip_sid: str | None


class InMemoryHub(sending.Hub):
    """Connects test clients: delivers what views emit to subscriptions in memory.

    Test clients share :func:`default_hub` unless given another; the pytest
    plugin and :class:`ChannelTestCase` empty it before each test (see
    :func:`using_test_hub`).
    """

    #: Sends are always checked against the views' ``emits`` in tests.
    check_emits = True

    def __init__(self):
        self.subscriptions = {}  # sid -> ChannelSubscription
        self.broadcasts = []
        self.clients = {}  # connection id -> connected ChannelTestClient

    def reset(self):
        """Forget every subscription and broadcast, and drop process-wide state.

        Presence, rate-limit counters (in memory) and backend managers start
        again from the settings, so nothing carries over from an earlier test.
        """
        self.subscriptions = {}
        self.broadcasts = []
        self.clients = {}
        reset_process_state(between_tests=True)

    def deliver(self, event, data, *, channel, to=None, skip_sid=None, callback=None, offset=None):
        data = wire(data)
        if to is not None:
            targets = [self.subscriptions[to]] if to in self.subscriptions else []
        else:
            self.broadcasts.append(Broadcast(channel, event, data, skip_sid))
            targets = [
                s for s in list(self.subscriptions.values()) if s.channel == channel and s.sid != skip_sid
            ]
        for subscription in targets:
            subscription.client._deliver(subscription, event, data, offset, callback)

    def channel_of(self, sid):
        subscription = self.subscriptions.get(sid)
        return None if subscription is None else subscription.channel

    def unsubscribe(self, channel, sid):
        subscription = self.subscriptions.get(sid)
        if subscription is not None:
            subscription._end(SERVER_DISCONNECT)

    def disconnect(self, channel, sid):
        subscription = self.subscriptions.get(sid)
        if subscription is not None:
            subscription.client.disconnect(reason=SERVER_DISCONNECT)

    def end_identity(self, *, session=None, user=None):
        for client in list(self.clients.values()):
            if client.identity is not None and client.identity.matches(session=session, user=user):
                client._log_out()

    def recheck_users(self, users):
        users = {str(key) for key in users}
        for client in list(self.clients.values()):
            if client.identity is not None and not client.identity.ended and client.identity.user in users:
                client._recheck()


_default_hub = InMemoryHub()


def default_hub():
    """The hub that test clients share unless given another."""
    return _default_hub


@contextlib.contextmanager
def using_test_hub(hub=None):
    """Run a test against ``hub`` (default: :func:`default_hub`), emptied first.

    Everything sent in this process, ``socketio_views.broadcast()`` and
    ``send()`` included, goes to the hub until the block ends. The pytest
    plugin and :class:`~socketio_views.testing.ChannelTestMixin` wrap each test in it.
    """
    hub = hub if hub is not None else default_hub()
    hub.reset()
    hubs.use_hub(hub)
    try:
        yield hub
    finally:
        hubs.use_hub(None)


class ChannelSubscription:
    """One test client's subscription to one channel, returned by :meth:`ChannelTestClient.subscribe`.

    ``view`` is the :class:`~socketio_views.ChannelView` instance serving it.
    """

    def __init__(self, client, view):
        self.client = client
        self.view = view
        self.channel = view.channel
        self.sid = view.sid
        self.closed = False
        self.close_reason = None
        #: The recovery session id the server confirmed (channels with history), as socket.io-client keeps it.
        self.pid = view.hub.pid
        #: The offset of the last event received with one, as socket.io-client keeps it.
        self.last_offset = None
        #: Whether this subscription recovered a dropped one (the client's ``socket.recovered``).
        self.recovered = view.recovered
        #: Messages dropped for it while its client was paused (``slow_consumer_policy = "drop"``).
        self.dropped_messages = 0

    def emit(self, event, data=None):
        """Emit ``event`` with ``data`` as the client would; return the acknowledgement.

        A refused or failed event returns ``{"error": {...}}``, exactly as the
        ack a real client receives, and the client also receives ``error``.
        """
        if self.closed:
            raise RuntimeError(f"{self.channel!r} is no longer subscribed ({self.close_reason}).")
        args = () if data is None else (wire(data),)
        return dispatch.handle_event(self.view, event, args)

    def unsubscribe(self):
        """Leave the channel, as a client disconnecting the namespace does."""
        self._end(CLIENT_DISCONNECT)

    def _end(self, reason):
        if self.closed:
            return
        self.closed, self.close_reason = True, reason
        self.client.hub.subscriptions.pop(self.sid, None)
        dispatch.end_subscription(self.view, reason)

    def received(self, event=None):
        """Payloads of the events this subscription received, of ``event`` only if given."""
        return self.client.received(event, channel=self.channel)

    def assert_received(self, event, data=ANY):
        """Assert that this subscription received ``event`` with ``data``; return the payload."""
        return self.client.assert_received(event, data, channel=self.channel)

    def assert_not_received(self, event, data=ANY):
        """Assert that this subscription did not receive ``event`` (with ``data``)."""
        self.client.assert_not_received(event, data, channel=self.channel)

    def assert_broadcast(self, event, data=ANY):
        """Assert that someone broadcast ``event`` with ``data`` on this channel; return the payload."""
        found = [b for b in self.client.hub.broadcasts if b.channel == self.channel and b.event == event]
        for broadcast in found:
            if broadcast.data == data:
                return broadcast.data
        seen = [(b.event, b.data) for b in self.client.hub.broadcasts if b.channel == self.channel]
        raise AssertionError(
            f"No broadcast of {event!r} with {data!r} on {self.channel!r}. Broadcasts on it: {seen!r}"
        )

    def __repr__(self):
        state = f"closed: {self.close_reason}" if self.closed else "open"
        return f"<ChannelSubscription {self.channel!r} sid={self.sid!r} {state}>"


class ChannelTestClient:
    """A client that subscribes to channels in process, without a server.

    :param user: the user of ``request.user`` (default: anonymous).
    :param session: a dict of session data for ``request.session``.
    :param auth: the default Socket.IO ``auth`` object of each subscription.
    :param headers: HTTP headers of the handshake request (``{"User-Agent": ...}``).
    :param router: the :class:`~socketio_views.ChannelRouter` to use (default:
        the one included in ``ROOT_URLCONF``).
    :param hub: the :class:`InMemoryHub` connecting clients (default: :func:`default_hub`).
    """

    def __init__(self, user=None, session=None, auth=None, headers=None, router=None, hub=None, path="/socket.io/"):
        self.user = user
        self.session_data = dict(session or {})
        self.auth = auth
        self.headers = dict(headers or {})
        self.router = router
        self.hub = hub if hub is not None else default_hub()
        self.path = path
        #: The id of this client's connection, a view's ``connection_id``.
        self.connection_id = f"test-connection-{next(_ids)}"
        self.subscriptions = {}  # channel -> ChannelSubscription
        self.dropped = []
        self.inbox = []
        #: event -> function of the payload: how this client acknowledges the server's events.
        self.answers = {}
        self.request = None
        #: Who the connection is (:class:`~socketio_views.identity.Identity`), while connected.
        self.identity = None
        #: Whether the client has stopped reading (see :meth:`pause`).
        self.paused = False
        self._unread = []  # (subscription, Received, callback, size) waiting while paused
        self._unread_bytes = 0

    def _get_router(self):
        if self.router is None:
            routers = mounted_routers()
            if len(routers) != 1:
                raise LookupError(
                    f"ROOT_URLCONF includes {len(routers)} ChannelRouters; pass router= to ChannelTestClient."
                )
            self.router = routers[0][1]
        return self.router

    def _build_request(self):
        request = RequestFactory().get(self.path, {"EIO": "4", "transport": "websocket"}, headers=self.headers)
        if apps.is_installed("django.contrib.sessions"):
            request.session = import_module(settings.SESSION_ENGINE).SessionStore()
            request.session.update(self.session_data)
        if apps.is_installed("django.contrib.auth"):
            from django.contrib.auth.models import AnonymousUser

            request.user = self.user if self.user is not None else AnonymousUser()
        return request

    def _connect(self):
        if self.request is None:
            self.request = self._build_request()
            session = getattr(self.request, "session", None)
            self.identity = identity.Identity(identity.session_hash(session.session_key if session is not None else None))
            self.hub.clients[self.connection_id] = self
            signals.connected.send(
                sender=None, connection_id=self.connection_id, request=self.request, sid=self.connection_id
            )

    def subscribe(self, channel, auth=None, *, recover=None):
        """Subscribe to ``channel``; return a :class:`ChannelSubscription`.

        Raises :class:`~socketio_views.SubscriptionRefused` (with ``message``
        and ``code``) when the channel refuses, as a real client gets ``connect_error``.
        ``recover`` is a dropped :class:`ChannelSubscription` whose ``pid``
        and ``last_offset`` are sent, as socket.io-client does when it
        reconnects (see :meth:`reconnect`).
        """
        if channel in self.subscriptions and not self.subscriptions[channel].closed:
            raise RuntimeError(f"Already subscribed to {channel!r}; unsubscribe first.")
        self._connect()
        router = self._get_router()
        auth = wire(auth if auth is not None else self.auth)
        if recover is not None and recover.pid is not None:
            auth = {"pid": recover.pid, "offset": recover.last_offset, **(auth or {})}
        sid = f"test-{next(_ids)}"
        try:
            view = dispatch.start_subscription(
                router,
                self.hub,
                channel=channel,
                sid=sid,
                request=identity.subscription_request(self.request, self.identity),
                auth=auth,
                connection_id=self.connection_id,
                open_subscriptions=sum(not s.closed for s in self.subscriptions.values()),
            )
            identity.note_subscription(self.identity, view.request)
        except SubscriptionRefused:
            raise
        except ChannelError as error:
            raise SubscriptionRefused(error.message, error.code, **error.extra) from error
        subscription = ChannelSubscription(self, view)
        self.subscriptions[channel] = subscription
        self.hub.subscriptions[sid] = subscription
        outbox = view.hub
        if outbox.pid is not None:
            for entry in outbox.replay + recovery.catch_up(view, outbox):
                self._deliver(subscription, entry.event, wire(entry.data), entry.offset)
        outbox.release()
        return subscription

    def drop(self, reason="transport close"):
        """Lose the connection, as a network failure does: every subscription ends
        with reason ``"transport close"``; :meth:`reconnect` then recovers them."""
        self.dropped = [s for s in self.subscriptions.values() if not s.closed]
        self.disconnect(reason=reason)
        self.connection_id = f"test-connection-{next(_ids)}"  # the next connection's

    def reconnect(self):
        """Subscribe again to every channel :meth:`drop` lost, sending each one's
        ``pid`` and last offset as socket.io-client does; return the new subscriptions.

        On channels with history, each one's ``recovered`` says whether the
        server replayed what was missed (into this client's inbox).
        """
        dropped, self.dropped = self.dropped, []
        return [self.subscribe(s.channel, s.view.auth, recover=s) for s in dropped]

    def logout(self):
        """Log this client's user out, as ``django.contrib.auth.logout()`` in a view of its session does.

        ``user_logged_out`` is sent; every subscription receives the ``error``
        event with code ``logged_out`` and ends (reason ``"server disconnect"``),
        and the client is anonymous from then on, also after :meth:`drop`
        and :meth:`reconnect`, as a browser whose session was flushed.
        """
        self.user, self.session_data = None, {}
        if self.request is None:
            return
        if apps.is_installed("django.contrib.auth"):
            from django.contrib.auth import logout

            logout(copy.copy(self.request))
        self._log_out()

    def _recheck(self):
        """Run the access checks of this connection's subscriptions again; ``access_revoked`` to each that fails."""
        subscriptions = {s.view: s for s in self.subscriptions.values() if not s.closed}
        for view, error in identity.recheck(self.identity, self.request, list(subscriptions)):
            subscription = subscriptions[view]
            if not subscription.closed:
                self._deliver(subscription, "error", wire({**error.as_dict(), "event": None}))
                subscription._end(SERVER_DISCONNECT)

    def _log_out(self):
        """End this connection's identity: ``logged_out`` to each subscription of an authenticated user, then anonymous."""
        authenticated = self.identity.user is not None
        identity.end(self.identity, self.request)
        if not authenticated:
            return
        error = wire(LoggedOut().as_event())
        for subscription in list(self.subscriptions.values()):
            if not subscription.closed:
                self._deliver(subscription, "error", error)
                subscription._end(SERVER_DISCONNECT)

    def pause(self):
        """Stop reading, as a client on a dead network does: what is sent waits,
        within the server's bounds (``MAX_QUEUED_BYTES``, ``MAX_QUEUED_MESSAGES``).

        A message that does not fit gets its channel's slow-consumer policy at
        once (no writer to wait for, no ping timeout here): ``"drop"`` counts
        it in the subscription's ``dropped_messages``; ``"disconnect"``
        discards what waits, delivers the ``slow_consumer`` error and ends
        every subscription with reason ``"slow consumer"``, ready for
        :meth:`reconnect`. See :ref:`slow-consumers`.
        """
        self.paused = True

    def resume(self):
        """Read again: what waited is received, in order."""
        self.paused = False
        unread, self._unread, self._unread_bytes = self._unread, [], 0
        for subscription, received, callback, _size in unread:
            self._receive(subscription, received, callback)

    def _deliver(self, subscription, event, data, offset=None, callback=None):
        received = Received(subscription.channel, event, data, offset)
        if not self.paused:
            return self._receive(subscription, received, callback)
        size = len(subscription.channel) + 4 + len(json.dumps([event, data], separators=(",", ":")))
        max_bytes = views_settings.MAX_QUEUED_BYTES
        max_messages = views_settings.MAX_QUEUED_MESSAGES
        if (max_bytes is None or self._unread_bytes + size <= max_bytes) and (
            max_messages is None or len(self._unread) < max_messages
        ):
            self._unread.append((subscription, received, callback, size))
            self._unread_bytes += size
        elif subscription.view.get_slow_consumer_policy() == queues.DROP:
            subscription.dropped_messages += 1
        else:
            self._unread, self._unread_bytes = [], 0
            self.inbox.append(Received(subscription.channel, "error", SlowConsumer().as_event()))
            self.paused = False
            self.drop(reason=SLOW_CONSUMER)

    def _receive(self, subscription, received, callback):
        self.inbox.append(received)
        if received.offset is not None:
            subscription.last_offset = received.offset
        answer = self.answers.get(received.event)
        answer = answer(received.data) if answer is not None else None
        if callback is not None:
            callback(*([] if answer is None else [wire(answer)]))

    def disconnect(self, reason=CLIENT_DISCONNECT):
        """Close the connection: every subscription ends, then ``disconnected`` is sent."""
        self.paused, self._unread, self._unread_bytes = False, [], 0  # what waited is never read
        for subscription in list(self.subscriptions.values()):
            subscription._end(reason)
        if self.request is not None:
            self.request = None
            self.identity = None
            self.hub.clients.pop(self.connection_id, None)
            signals.disconnected.send(
                sender=None, connection_id=self.connection_id, reason=reason, sid=self.connection_id
            )

    def received(self, event=None, channel=None):
        """Payloads received, optionally of one ``event`` and one ``channel``."""
        return [
            r.data
            for r in self.inbox
            if (event is None or r.event == event) and (channel is None or r.channel == channel)
        ]

    def clear(self):
        """Forget what was received so far."""
        self.inbox.clear()

    def assert_received(self, event, data=ANY, channel=None):
        """Assert that ``event`` with ``data`` (on ``channel``) was received; return the payload."""
        for payload in self.received(event, channel):
            if payload == data:
                return payload
        raise AssertionError(self._describe(f"Expected {event!r} with {data!r}", channel))

    def assert_not_received(self, event, data=ANY, channel=None):
        """Assert that no ``event`` (with ``data``, on ``channel``) was received."""
        if any(payload == data for payload in self.received(event, channel)):
            raise AssertionError(self._describe(f"Did not expect {event!r} with {data!r}", channel))

    def _describe(self, expectation, channel):
        where = f" on {channel!r}" if channel else ""
        seen = [(r.channel, r.event, r.data) for r in self.inbox if channel is None or r.channel == channel]
        return f"{expectation}{where}. Received instead: {seen!r}"

    @property
    def sid(self):
        """Deprecated: the connection's id is :attr:`connection_id` (``sid`` names a subscription)."""
        warnings.warn(
            "ChannelTestClient.sid is deprecated; use ChannelTestClient.connection_id.",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.connection_id

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.disconnect()
