"""The demo's channels, written only with socketio_views' public API."""
import attrs

import socketio_views
from socketio_views import ChannelError, ChannelView
from socketio_views.mixins import LoginRequiredMixin, PresenceMixin, RateLimitMixin
from socketio_views.presence import get_presence

from .rooms import ROOM_LIST, RoomRefused, open_room, room_counts

MAX_NAME = 30
MAX_TEXT = 500


def _not_blank(instance, attribute, value):
    if not value.strip():
        raise ValueError("Type a message first.")


@attrs.define
class ChatMessage:
    """The payload of ``message``: ``{"text": "..."}``, not blank; trimmed and cut to 500 characters when sent."""

    text: str = attrs.field(validator=_not_blank)


class RoomListChannel(ChannelView):
    """``rooms``: the rooms page; receives the rooms once, then ``room_opened``, ``room_closed`` and ``count``."""

    def on_subscribe(self):
        self.send({"rooms": room_counts()}, event="rooms")


class RoomChannel(RateLimitMixin, PresenceMixin, ChannelView):
    """``rooms/<slug:room>``: everyone in a room sees everyone's messages.

    Subscribe with ``auth={"name": "nickname"}`` (or be logged in); emit
    ``message`` with ``{"text": "..."}``, acknowledged with ``{"ok": true}``;
    every subscriber, the sender included, receives ``message`` with
    ``{"user": ..., "text": ...}``. Who is online arrives as ``presence_state``
    and ``presence_diff``; more than 3 messages a second (bursts of 6) are
    refused with ``rate_limited``. A newcomer receives the last 50 messages;
    a client that reconnects within two minutes recovers what it missed.
    """

    rate_limit = "3/s"
    rate_limit_burst = 6
    members_only = False
    # The last 100 messages are kept: a newcomer sees 50 of them, and a
    # client that reconnects receives what it missed.
    history = 100
    history_events = {"message"}
    send_history_on_subscribe = 50

    def on_subscribe(self, room):
        user = self.request.user
        name = user.get_username() if user.is_authenticated else str(self.auth.get("name", "")).strip()
        if not name:
            raise ChannelError("Pick a nickname first.", code="name_required")
        self.name = name[:MAX_NAME]
        try:
            room_object, _created = open_room(room, members_only=self.members_only, request=self.request)
        except RoomRefused as refused:
            raise ChannelError(refused.message, code=refused.code) from None
        if room_object.members_only != self.members_only:
            raise ChannelError("This room is members-only: open it from the rooms page.", code="wrong_room")

    def get_presence_meta(self):
        return {"user": self.name}

    def after_subscribe(self, room):
        self.announce_count()

    def after_disconnect(self, room):
        self.announce_count()

    def announce_count(self):
        """Tell the rooms page how many are here now (presence has been updated by then)."""
        socketio_views.broadcast(
            ROOM_LIST, {"channel": self.channel, "count": get_presence().count(self.channel)}, event="count"
        )

    def on_message(self, message: ChatMessage, room):
        self.broadcast({"user": self.name, "text": message.text.strip()[:MAX_TEXT]})
        return {"ok": True}

    def on_typing(self, data, room):
        self.broadcast({"user": self.name}, event="typing", include_self=False)


class MembersRoomChannel(LoginRequiredMixin, RoomChannel):
    """``members/<slug:room>``: a room for logged-in users only."""

    members_only = True
