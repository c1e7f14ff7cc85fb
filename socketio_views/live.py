"""
What the live channels page shows, and the staff-only channel it arrives on.

Every process that serves sockets samples, once a second, how many messages
each channel sent (counted by :meth:`socketio_views.sending.Hub.emit`) and, while
someone is present on :data:`LIVE_CHANNEL`, broadcasts its own snapshot there:
its routes, their channels, subscriber counts and message rates. With a
``BACKEND`` the snapshots of every process reach every page, which adds them
up by process (:mod:`socketio_views.admin` serves the page).

Enable it by registering the channel on the router that serves the page::

    from socketio_views.live import LIVE_CHANNEL, LiveChannel

    router.register(LIVE_CHANNEL, LiveChannel)
"""
import os
import socket
import time
from collections import deque

from django.core.checks import Error, Tags, register
from django.core.exceptions import ImproperlyConfigured
from django.urls import NoReverseMatch, reverse
from socketio import PubSubManager

from . import identity, logout, signals
from .api import broadcast
from .exceptions import ChannelNotFound, InvalidPayload, PermissionRefused
from .hub import last_hold
from .logs import logger
from .mixins import LoginRequiredMixin, PermissionRequiredMixin, PresenceMixin, UserPassesTestMixin
from .models import OPERATE_PERMISSION, VIEW_PERMISSION
from .mounts import mounted_routers
from .presence import get_presence
from .sending import emit_counts, namespace_for
from .state import ProcessWide
from .transport.server import get_server, server_exists
from .views import ChannelView

#: The channel of the live channels page. Channel names never start with
#: ``socketio_views/`` otherwise: the name is reserved for it.
LIVE_CHANNEL = "socketio_views/live"
#: Seconds between two samples (and two snapshots).
INTERVAL = 1
#: Seconds of message rates each snapshot carries, per route (the page's charts).
RATE_SECONDS = 120
#: Seconds over which a channel's message rate is averaged.
CHANNEL_RATE_SECONDS = 10
#: Channels a snapshot lists per route (the busiest), and subscriptions per channel.
MAX_CHANNELS = 100
MAX_SUBSCRIPTIONS = 20


def process_name():
    """The name snapshots give this process: ``host:pid``."""
    return f"{socket.gethostname()}:{os.getpid()}"


def registered_routers():
    """Every :class:`~socketio_views.routers.ChannelRouter` included in the URLconf."""
    return [router for _prefix, router in mounted_routers()]


def live_endpoint():
    """The path (after the script prefix) of the router that serves :data:`LIVE_CHANNEL`.

    Raises ``ImproperlyConfigured`` when no included router registers it.
    """
    for prefix, router in mounted_routers():
        if any(issubclass(registration.view_class, LiveChannel) for registration in router):
            return prefix
    raise ImproperlyConfigured(
        "The live channels page needs its channel: in the module that builds your ChannelRouter, add "
        "`from socketio_views.live import LIVE_CHANNEL, LiveChannel` and `router.register(LIVE_CHANNEL, LiveChannel)`."
    )


class Sampler:
    """Samples this process's channels every :data:`INTERVAL` seconds and broadcasts snapshots while watched.

    :param server: the :class:`~socketio_views.transport.server.ChannelServer` of this process.
    """

    def __init__(self, server):
        self.server = server
        self.routers = registered_routers()
        self.routes = [
            {"route": registration.pattern, "view": f"{registration.view_class.__module__}.{registration.view_class.__qualname__}"}
            for router in self.routers
            for registration in router
        ]
        self._route_of = {}
        #: Per second, oldest first: ``{route: messages}``.
        self.route_rates = deque(maxlen=RATE_SECONDS)
        #: Per second, oldest first: ``{channel: messages}``.
        self.channel_rates = deque(maxlen=CHANNEL_RATE_SECONDS)
        #: The second (``int(time.time())``) of the last sample.
        self.last_second = None
        self.process = process_name()
        self.running = False

    def start(self):
        """Count messages and sample them in a background task of the server."""
        if not self.running:
            self.running = True
            emit_counts.start()
            self.server.start_background_task(self.run)

    def stop(self):
        """Stop sampling (the background task ends at its next wake-up)."""
        self.running = False
        emit_counts.stop()

    def run(self):
        while self.running:
            self.server.sleep(INTERVAL - time.time() % INTERVAL)
            if not self.running:
                return
            try:
                self.sample()
                if get_presence().count(LIVE_CHANNEL):
                    self.server.hub.emit("snapshot", self.snapshot(), channel=LIVE_CHANNEL, history=False)
            except Exception:
                logger.exception("The live channels snapshot failed")

    def route_of(self, channel):
        """The registered pattern that serves ``channel``, or ``None``."""
        try:
            return self._route_of[channel]
        except KeyError:
            route = None
            for router in self.routers:
                try:
                    route = router.resolve(channel).route
                except ChannelNotFound:
                    continue
                break
            if len(self._route_of) > 10_000:
                self._route_of.clear()
            self._route_of[channel] = route
        return route

    def sample(self):
        """Take the messages counted since the last sample."""
        counts = emit_counts.take()
        per_route = {}
        for channel, count in counts.items():
            route = self.route_of(channel)
            per_route[route] = per_route.get(route, 0) + count
        self.route_rates.append(per_route)
        self.channel_rates.append(counts)
        self.last_second = int(time.time())

    def snapshot(self):
        """This process's routes, channels, subscriptions and message rates, as a JSON object."""
        channels = {}
        for sid, view in list(self.server.views.items()):
            entry = channels.setdefault(view.channel, {"subscribers": 0, "subscriptions": []})
            entry["subscribers"] += 1
            if len(entry["subscriptions"]) < MAX_SUBSCRIPTIONS:
                user = getattr(view.request, "user", None)
                entry["subscriptions"].append(
                    {
                        "sid": sid,
                        "connection": view.connection_id,
                        "user": user.get_username() if user is not None and user.is_authenticated else None,
                        "user_id": identity.user_key(view.request),
                    }
                )
        recent = {}
        for counts in self.channel_rates:
            for channel, count in counts.items():
                recent[channel] = recent.get(channel, 0) + count
        for channel in recent:
            channels.setdefault(channel, {"subscribers": 0, "subscriptions": []})
        window = max(len(self.channel_rates), 1) * INTERVAL
        by_route = {route["route"]: [] for route in self.routes}
        for channel, entry in channels.items():
            route = self.route_of(channel)
            if route in by_route:
                entry["channel"] = channel
                entry["rate"] = round(recent.get(channel, 0) / window, 2)
                by_route[route].append(entry)
        padding = [0] * (RATE_SECONDS - len(self.route_rates))
        routes = []
        for route in self.routes:
            listed = sorted(by_route[route["route"]], key=lambda e: (-e["subscribers"], -e["rate"], e["channel"]))
            routes.append(
                {
                    **route,
                    "subscribers": sum(e["subscribers"] for e in listed),
                    "channel_count": len(listed),
                    "channels": listed[:MAX_CHANNELS],
                    "rates": padding + [rates.get(route["route"], 0) for rates in self.route_rates],
                }
            )
        return {
            "process": self.process,
            "time": time.time(),
            "interval": INTERVAL,
            "second": self.last_second if self.last_second is not None else int(time.time()),
            "routes": routes,
            "hub_hold": last_hold(),
        }


def _make_sampler():
    return Sampler(get_server())


_sampler = ProcessWide(_make_sampler, close=lambda sampler: sampler.stop(), keep_between_tests=True)


def get_sampler():
    """This process's :class:`Sampler`, created (and started) on first use."""
    sampler = _sampler.get()
    sampler.start()
    return sampler


_enabled = None

#: The ``dispatch_uid`` of :func:`_on_connected`'s connection to :data:`~socketio_views.signals.connected`.
DISPATCH_UID = "socketio_views.live"


def _on_connected(sender, **kwargs):
    """Start sampling in a process that serves sockets, once, if a router registers :class:`LiveChannel`."""
    global _enabled
    if _enabled is False:
        return
    try:
        if _enabled is None:
            try:
                live_endpoint()
            except ImproperlyConfigured:
                _enabled = False
                # Nothing to sample in this process: no call on every connection.
                signals.connected.disconnect(dispatch_uid=DISPATCH_UID)
                return
            _enabled = True
        get_sampler()
    except Exception:
        # Never in the way of a connection.
        _enabled = False
        logger.exception("The live channels sampler could not start")


def connect_receivers():
    """Start sampling on this process's first connection (called by the app's ``ready()``)."""
    signals.connected.connect(_on_connected, dispatch_uid=DISPATCH_UID)


@register(Tags.urls)
def check_live_channel_registered(app_configs, **kwargs):
    """E030: the live channels page is included in the URLconf, but no included router registers its channel."""
    try:
        reverse("socketio_views:live_channels")
    except NoReverseMatch:
        return []
    try:
        live_endpoint()
    except ImproperlyConfigured:
        return [
            Error(
                "The live channels page is included in the URLconf, but no included ChannelRouter registers "
                "its channel: the page would fail.",
                hint="Where your ChannelRouter is built, add `from socketio_views.live import LIVE_CHANNEL, "
                "LiveChannel` and `router.register(LIVE_CHANNEL, LiveChannel)`.",
                id="socketio_views.E030",
            )
        ]
    return []


def _text(data, key, required=True):
    value = data.get(key) if isinstance(data, dict) else None
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise InvalidPayload(f"{key!r} must be a non-empty string.")
    return value


class LiveChannel(LoginRequiredMixin, UserPassesTestMixin, PermissionRequiredMixin, PresenceMixin, ChannelView):
    """:data:`LIVE_CHANNEL`: the live channels page's snapshots, and its operators' actions.

    Only active staff users with ``socketio_views.view_live_channels`` may
    subscribe (``login_required``, else ``permission_denied``). A subscriber
    receives ``snapshot`` from every process about once a second. Events,
    each acknowledged with ``{"ok": true, ...}`` or an error:

    * ``presence`` ``{"channel": ...}``: the channel's presence list;
    * ``send`` ``{"channel", "event", "data"}``: broadcast to a channel;
    * ``end_subscription`` ``{"channel", "sid"}``: end one subscription;
    * ``end_user`` ``{"user_id"}``: end every subscription of a user.

    The last three also need ``socketio_views.operate_live_channels``
    (``permission_denied`` otherwise), and each is logged with who did it.
    """

    permission_required = VIEW_PERMISSION
    #: The permission the actions need besides ``permission_required``.
    operate_permission_required = OPERATE_PERMISSION
    presence_events = False

    def test_func(self):
        user = self.request.user
        return user.is_active and user.is_staff

    def get_permission_denied_message(self):
        return self.permission_denied_message or (
            f"Only staff users with the {VIEW_PERMISSION!r} permission may watch the live channels."
        )

    def get_operate_permission_required(self):
        """Return the permission the actions need."""
        return self.operate_permission_required

    def check_operate(self):
        """Refuse with ``permission_denied`` unless the user may act on channels."""
        permission = self.get_operate_permission_required()
        if not self.request.user.has_perm(permission):
            raise PermissionRefused(f"Sending and ending subscriptions needs the {permission!r} permission.")

    def after_subscribe(self):
        if server_exists():
            self.send(get_sampler().snapshot(), event="snapshot")

    def on_presence(self, data):
        return {"ok": True, "presence": get_presence().list(_text(data, "channel"))}

    def on_send(self, data):
        self.check_operate()
        channel = _text(data, "channel")
        event = _text(data, "event", required=False) or "message"
        if channel == LIVE_CHANNEL:
            raise InvalidPayload(f"{LIVE_CHANNEL!r} carries snapshots only; choose another channel.")
        if not any(_resolves(router, channel) for router in registered_routers()):
            raise InvalidPayload(f"No registered route matches {channel!r}.")
        try:
            broadcast(channel, data.get("data"), event)
        except (TypeError, ValueError) as exc:
            raise InvalidPayload(str(exc)) from None
        logger.info(
            "Live channels: %s sent %r on %r", self.request.user.get_username(), event, channel,
            channel=channel, event=event,
        )
        return {"ok": True}

    def on_end_subscription(self, data):
        self.check_operate()
        channel, sid = _text(data, "channel"), _text(data, "sid")
        try:
            namespace_for(channel)
        except ValueError as exc:
            raise InvalidPayload(str(exc)) from None
        server = get_server()
        held_here = server.views.get(sid)
        if held_here is not None and held_here.channel != channel:
            raise InvalidPayload(f"Subscription {sid!r} is on {held_here.channel!r}, not {channel!r}.")
        if held_here is None and not isinstance(server.manager, PubSubManager):
            raise InvalidPayload(f"No subscription {sid!r} on {channel!r}: it has ended already.")
        # Elsewhere, python-socketio's pub/sub manager asks the process that holds it.
        server.disconnect(sid, namespace=namespace_for(channel))
        logger.info(
            "Live channels: %s ended subscription %s on %r", self.request.user.get_username(), sid, channel,
            sid=sid, channel=channel,
        )
        return {"ok": True}

    def on_end_user(self, data):
        self.check_operate()
        user_id = _text(data, "user_id")
        logout.end_user(user_id)
        logger.info("Live channels: %s ended every subscription of user %s", self.request.user.get_username(), user_id)
        return {"ok": True}


def _resolves(router, channel):
    try:
        router.resolve(channel)
    except ChannelNotFound:
        return False
    return True
