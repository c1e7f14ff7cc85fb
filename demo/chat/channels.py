"""The demo's channels, written only with socketio_views' public API."""
from socketio_views import ChannelError, ChannelView

MAX_NAME = 30
MAX_TEXT = 500


class RoomChannel(ChannelView):
    """``rooms/<slug:room>``: everyone in a room sees everyone's messages.

    Subscribe with ``auth={"name": "nickname"}`` (or be logged in); emit
    ``message`` with ``{"text": "..."}``, acknowledged with ``{"ok": true}``;
    every subscriber, the sender included, receives ``message`` with
    ``{"user": ..., "text": ...}``.
    """

    def on_subscribe(self, room):
        user = self.request.user
        name = user.get_username() if user.is_authenticated else str(self.auth.get("name", "")).strip()
        if not name:
            raise ChannelError("Pick a nickname first.", code="name_required")
        self.name = name[:MAX_NAME]
        self.broadcast({"user": self.name}, event="joined")

    def on_message(self, data, room):
        text = str((data or {}).get("text", "")).strip()
        if not text:
            raise ChannelError("Type a message first.", code="invalid")
        self.broadcast({"user": self.name, "text": text[:MAX_TEXT]})
        return {"ok": True}

    def on_typing(self, data, room):
        self.broadcast({"user": self.name}, event="typing", include_self=False)

    def on_disconnect(self, room):
        self.broadcast({"user": self.name}, event="left", include_self=False)
