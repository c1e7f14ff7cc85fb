"""Channels the test suite talks to over real connections."""
import time
from collections import defaultdict

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.dispatch import receiver

from socketio_views import ChannelError, ChannelView, signals


class RoomChannel(ChannelView):
    def on_subscribe(self, room):
        self.name = self.auth.get("name") or self.request.user.get_username() or "anonymous"
        self.broadcast({"joined": self.name})

    def on_message(self, data, room):
        self.broadcast({"user": self.name, "text": data["text"]})
        return {"ok": True}

    def on_typing(self, data, room):
        self.broadcast({"user": self.name}, event="typing", include_self=False)

    def on_whoami(self, data, room):
        user = self.request.user
        return {
            "user": user.get_username(),
            "authenticated": user.is_authenticated,
            "name": self.name,
            "channel": self.channel,
            "kwargs": self.kwargs,
            "sid": self.sid,
        }

    def on_echo(self, data, room):
        self.send(data, event="echo")

    def on_ask(self, data, room):
        self.send({"q": data["q"]}, event="question", callback=lambda reply: self.send(reply, event="answered"))

    def on_ask_many(self, data, room):
        for n in range(data["count"]):
            self.send({"n": n}, event="question", callback=lambda reply: self.send(reply, event="answered"))
        return {"asked": data["count"]}

    def on_boom(self, data, room):
        raise RuntimeError("secret internals")

    def on_refuse(self, data, room):
        raise ChannelError("The room is full.", code="room_full")

    def on_forbidden(self, data, room):
        raise PermissionDenied("Only moderators may do that.")

    def on_slow(self, data, room):
        time.sleep(data["seconds"])
        return "done"

    def on_leave(self, data, room):
        self.unsubscribe()

    def on_kick(self, data, room):
        self.disconnect()

    def on_disconnect(self, room):
        self.broadcast({"left": self.name}, event="left", include_self=False)


class CostlyGoodbyeChannel(RoomChannel):
    """A room whose every ``on_disconnect`` computes for 5 ms on the hub before telling the room (tests/test_teardown.py).

    300 of them torn down in one go hold the hub for 1.5 s; in batches, the
    other connections are served between them.
    """

    def on_disconnect(self, room):
        deadline = time.monotonic() + 0.005
        while time.monotonic() < deadline:
            pass
        super().on_disconnect(room)


class CostlyWelcomeChannel(ChannelView):
    """A channel whose every ``on_subscribe`` computes for 5 ms on the hub (tests/test_pacing.py).

    400 subscriptions decided in one turn of the event loop hold it for 2 s;
    in turns, the other connections are served between them.
    """

    def on_subscribe(self, room):
        deadline = time.monotonic() + 0.005
        while time.monotonic() < deadline:
            pass


class SlowWelcomeChannel(RoomChannel):
    """A room whose ``on_subscribe`` waits 0.3 s (yielding, as a slow query would) before joining (tests/test_pacing.py)."""

    def on_subscribe(self, room):
        time.sleep(0.3)
        super().on_subscribe(room)


class ConvertersChannel(ChannelView):
    def on_kwargs(self, data, **kwargs):
        return {
            "args": list(self.args),
            "types": {k: type(v).__name__ for k, v in kwargs.items()},
            "values": {k: str(v) for k, v in kwargs.items()},
        }


class PrivateChannel(ChannelView):
    def on_subscribe(self, key):
        if self.auth.get("token") != "secret":
            raise PermissionDenied("Wrong token.")


class ClosedChannel(ChannelView):
    def on_subscribe(self, name):
        return False


class BrokenChannel(ChannelView):
    def on_subscribe(self, name):
        raise RuntimeError("database password is hunter2")


class DatabaseChannel(ChannelView):
    def on_subscribe(self, n):
        User.objects.exists()

    def on_count(self, data, n):
        return User.objects.count()

    def on_backend_pid(self, data, n):
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            return cursor.fetchone()[0]

    def on_pg_sleep(self, data, n):
        import psycopg.waiting
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_sleep(%s)", [data["seconds"]])
        return {"wait": psycopg.waiting.wait.__name__}


#: What the signal receivers saw, per channel.
signal_log = defaultdict(list)
connection_log = []


class SignalsChannel(ChannelView):
    def on_ping(self, data, name):
        return "pong"

    def on_live_views(self, data, name):
        from socketio_views.transport.server import get_server

        return len(get_server().views)

    def on_log(self, data, name):
        channel = (data or {}).get("channel", self.channel)
        return {"channel": signal_log[channel], "connections": list(connection_log)}


@receiver(signals.subscribed, sender=SignalsChannel)
def _subscribed(sender, view, **kwargs):
    signal_log[view.channel].append(["subscribed", sender.__name__])


@receiver(signals.message_received, sender=SignalsChannel)
def _received(sender, view, event, data, **kwargs):
    signal_log[view.channel].append(["message_received", event, data])


@receiver(signals.unsubscribed, sender=SignalsChannel)
def _unsubscribed(sender, view, reason, **kwargs):
    signal_log[view.channel].append(["unsubscribed", reason])


@receiver(signals.error, sender=SignalsChannel)
def _error(sender, view, event, error, **kwargs):
    signal_log[view.channel].append(["error", event, error.code])


@receiver(signals.subscription_refused)
def _refused(sender, channel, error, **kwargs):
    # Only the channels of test_server's signal tests: a log of every refused name would grow without bound.
    if isinstance(channel, str) and channel.startswith("signals/"):
        signal_log[channel].append(["subscription_refused", error.code])


@receiver(signals.connected)
def _connected(sender, connection_id, request, **kwargs):
    connection_log.append(["connected", connection_id])


@receiver(signals.disconnected)
def _disconnected(sender, connection_id, reason, **kwargs):
    connection_log.append(["disconnected", connection_id])


# Mixins, typed payloads and limits (socketio_views.mixins, socketio_views.payloads).

import attrs  # noqa: E402

from socketio_views.mixins import (  # noqa: E402
    LoginRequiredMixin,
    PermissionRequiredMixin,
    RateLimitMixin,
    UserPassesTestMixin,
)


class MembersChannel(LoginRequiredMixin, ChannelView):
    def on_subscribe(self, room):
        self.send({"welcome": self.request.user.get_username()}, event="welcome")

    def on_message(self, data, room):
        return {"ok": True}


class ModeratorsChannel(PermissionRequiredMixin, ChannelView):
    permission_required = ("auth.change_user", "auth.view_user")
    permission_denied_message = "Moderators only."


class VipChannel(UserPassesTestMixin, ChannelView):
    def test_func(self):
        return self.request.user.get_username().startswith("vip")


class LimitedChannel(RateLimitMixin, ChannelView):
    rate_limit = "3/s"

    def on_message(self, data, name):
        return {"ok": True}


class BurstChannel(LimitedChannel):
    rate_limit = "1/s"
    rate_limit_burst = 3


class PerUserLimitedChannel(LimitedChannel):
    rate_limit = "2/m"
    rate_limit_scope = "user"


class StackedChannel(LoginRequiredMixin, PermissionRequiredMixin, RateLimitMixin, ChannelView):
    permission_required = "auth.view_user"
    rate_limit = "2/s"

    def on_message(self, data, name):
        return {"ok": True}


@attrs.define
class ChatMessage:
    text: str = attrs.field(validator=attrs.validators.max_len(20))
    priority: int = 0


@attrs.define
class Reply:
    text: str
    length: int


class TypedChannel(ChannelView):
    def on_message(self, message: ChatMessage, name):
        self.broadcast(Reply(message.text, len(message.text)), event="reply")
        return Reply(message.text.upper(), message.priority)

    def on_raw(self, data, name):
        return {"got": data}


# Presence (socketio_views.mixins.PresenceMixin).

from socketio_views.mixins import PresenceMixin  # noqa: E402


class PresenceChannel(PresenceMixin, ChannelView):
    def on_subscribe(self, room):
        self.name = self.auth.get("name", "anonymous")

    def get_presence_meta(self):
        return {"user": self.name}

    def on_who(self, data, room):
        return self.presence()

    def on_message(self, data, room):
        self.broadcast({"user": self.name, "text": data["text"]})
        return {"ok": True}

    def on_typing(self, data, room):
        self.broadcast({"user": self.name}, event="typing", include_self=False)

    def on_save(self, data, room):
        """Broadcast after the transaction commits; data["fail"] rolls it back."""
        from django.db import transaction

        try:
            with transaction.atomic():
                self.broadcast_on_commit({"saved": data["n"]}, event="saved")
                if data.get("fail"):
                    raise ValueError("rolled back")
        except ValueError:
            return {"ok": False}
        return {"ok": True}


class UserOrIpLimitedChannel(RateLimitMixin, ChannelView):
    """Three events a minute per user, or per address for anonymous clients: reconnecting gains nothing."""

    rate_limit = "3/m"
    rate_limit_scope = "user_or_ip"

    def on_message(self, data, name):
        return {"ok": True}


class IpLimitedChannel(RateLimitMixin, ChannelView):
    """Three events a minute per IP address and channel, shared by every process with a Redis backend."""

    rate_limit = "3/m"
    rate_limit_scope = "ip"

    def get_rate_limit_key(self):
        return f"{super().get_rate_limit_key()}:{self.channel}"

    def on_message(self, data, name):
        return {"ok": True}


# Acknowledgements (socketio_views.dispatch.acknowledgement): the wire and the test client agree.


class AcksChannel(ChannelView):
    def on_shapes(self, data, name):
        return {"tuple": (1, 2), 3: "three", "nested": [("a", {"b": None})], "bytes": b"\x00\x01"}

    def on_attrs(self, data, name):
        return Reply("hi", 2)

    def on_unsendable(self, data, name):
        return {"when": {1, 2}}


# History and recovery (socketio_views.history).


class HistoryChannel(ChannelView):
    history = 2000

    def on_message(self, data, room):
        self.broadcast(data)
        return {"ok": True}

    def on_whoami(self, data, room):
        return {"recovered": self.recovered, "recovery_failure": self.recovery_failure}


# Disconnect reasons over the wire (tests/test_server.py).


class ReasonsChannel(SignalsChannel):
    """Logs ``["disconnect_reason", self.disconnect_reason]`` per channel when a subscription ends (``on_log`` returns it)."""

    def on_leave(self, data, name):
        self.unsubscribe()

    def on_kick(self, data, name):
        self.disconnect()

    def on_disconnect(self, name):
        signal_log[self.channel].append(["disconnect_reason", self.disconnect_reason])


class ShortHistoryChannel(HistoryChannel):
    """Five broadcasts kept; a session outlives its subscription by two seconds."""

    history = 5
    recovery_window = 2


# Slow consumers (socketio_views.queues).


class FloodChannel(ChannelView):
    """``flood`` broadcasts ``count`` messages of ``size`` characters, at most ``rate`` a second; a slow subscriber is disconnected."""

    def on_flood(self, data, name):
        text = "x" * data["size"]
        rate = data.get("rate")
        for n in range(data["count"]):
            self.broadcast({"n": n, "text": text}, event="item")
            if rate and n % 10 == 9:
                time.sleep(10 / rate)
        return {"sent": data["count"]}


class TickerChannel(FloodChannel):
    """What does not fit in a slow subscriber's queue is dropped."""

    slow_consumer_policy = "drop"


# Graceful drain (socketio_views.drain).


class SlowTeardownChannel(HistoryChannel):
    """A channel with history whose every ``on_disconnect`` takes half a second (tests/test_drain.py)."""

    def on_disconnect(self, room):
        time.sleep(0.5)


# Contracts (socketio_views.contracts, outgoing checks, EventPermissionMixin).

import enum  # noqa: E402
import typing  # noqa: E402

from attrs import validators  # noqa: E402

from socketio_views.mixins import EventPermissionMixin  # noqa: E402


# [contracts-payloads]
class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


@attrs.define
class Point:
    """A point of a shape."""

    x: int
    y: float


@attrs.define
class Shape:
    """A shape: its name, points and colour."""

    name: str = attrs.field(validator=[validators.min_len(1), validators.max_len(20)])
    points: list[Point] = attrs.field(validator=validators.max_len(10))
    colour: Colour
    tags: list[str] = attrs.field(factory=list, validator=validators.max_len(5))
    label: str | None = None
    kind: typing.Literal["open", "closed"] = "open"
    size: int = attrs.field(default=1, validator=[validators.ge(1), validators.lt(100)])
    code: str = attrs.field(default="a", validator=validators.matches_re(r"[a-z]+"))
    layer: str = attrs.field(default="top", validator=validators.in_(["top", "bottom"]))


@attrs.define
class Drawn:
    """What ``draw`` is acknowledged with."""

    points: int
    by: str


@attrs.define
class ShapeAdded:
    """A shape someone drew."""

    shape: Shape
    by: str
# [/contracts-payloads]


# [contracts-view]
class ContractsChannel(EventPermissionMixin, ChannelView):
    """``contracts/<str:name>``: typed both ways, with a permission on ``erase``."""

    emits = {"added": ShapeAdded, "erased": dict[str, int], "note": None}
    event_permissions = {"erase": "auth.delete_user"}

    def on_draw(self, shape: Shape, name) -> Drawn:
        """Draw a shape; every subscriber receives ``added``."""
        by = self.request.user.get_username()
        self.broadcast(ShapeAdded(shape, by), event="added")
        return Drawn(len(shape.points), by)

    def on_erase(self, data, name):
        """Erase everything (permission ``auth.delete_user``); all receive ``erased``."""
        self.broadcast({"count": 1}, event="erased")
        return {"ok": True}
# [/contracts-view]

    def on_bad_send(self, data, name):
        """Broadcast ``added`` with a payload that does not fit its type."""
        self.broadcast({"shape": {"name": "x"}, "by": 3}, event="added")


# Idempotent client events (socketio_views.idempotency).

import itertools  # noqa: E402

from socketio_views.mixins import IdempotentEventsMixin  # noqa: E402

_posts = itertools.count(1)


# [idempotent-view]
class IdempotentChannel(IdempotentEventsMixin, ChannelView):
    """``post`` ``{"id", "text", "delay"}``: ``posted`` once per id, ``delay`` s later."""

    idempotent_events = {"post"}
    history = 100

    def on_post(self, data, name):
        time.sleep(data.get("delay", 0))
        self.broadcast({"id": data.get("id"), "text": data["text"]}, event="posted")
        return {"ok": True, "post": next(_posts)}
# [/idempotent-view]
