"""The bench's channels: the demo's RoomChannel without the join/leave broadcasts,
and the soak's channel, which keeps history.

The demo broadcasts ``joined`` on every subscription, which would make N
subscriptions cost N² deliveries and measure that instead of the fan-out.
"""
import os

from socketio_views import ChannelError, ChannelView

MAX_NAME = 30
MAX_TEXT = 500


class RoomChannel(ChannelView):
    """``rooms/<slug:room>``: subscribe with ``auth={"name": ...}``; ``message``
    is broadcast to every subscriber (the sender included) as
    ``{"user", "text", ...the other payload fields}`` and acknowledged with
    ``{"ok": True}``. With ``BENCH_HISTORY`` set, the channel keeps that many
    broadcasts (the ``socketio_views-history`` row)."""

    history = int(os.environ.get("BENCH_HISTORY", "0"))

    def on_subscribe(self, room):
        user = self.request.user
        name = user.get_username() if user.is_authenticated else str(self.auth.get("name", "")).strip()
        if not name:
            raise ChannelError("Pick a nickname first.", code="name_required")
        self.name = name[:MAX_NAME]

    def on_message(self, data, room):
        data = data if isinstance(data, dict) else {}
        text = str(data.get("text", "")).strip()
        if not text:
            raise ChannelError("Type a message first.", code="invalid")
        self.broadcast({**data, "user": self.name, "text": text[:MAX_TEXT]})
        return {"ok": True}


class SoakChannel(RoomChannel):
    """``soak/<slug:room>`` (bench/soak.py): RoomChannel keeping the last 200
    broadcasts, so that a client whose transport drops recovers what it missed
    (``socket.recovered``), and a slow consumer is ended with ``slow_consumer``
    (the default policy)."""

    history = 200
