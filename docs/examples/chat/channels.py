"""The channels of docs/channels.rst, docs/routing.rst and docs/sending.rst."""
# [handlers]
from django.core.exceptions import PermissionDenied
from socketio_views import ChannelError, ChannelView


class RoomChannel(ChannelView):
    def on_subscribe(self, room):
        if room == "staff" and not self.request.user.is_staff:
            raise PermissionDenied("Staff only.")
        self.name = self.auth.get("name") or "anonymous"
        self.broadcast({"joined": self.name})

    def on_message(self, data, room):
        self.broadcast({"user": self.name, "text": data["text"]})
        return {"ok": True}

    def on_typing(self, data, room):
        self.broadcast({"user": self.name}, event="typing", include_self=False)

    def on_rename(self, data, room):
        name = str((data or {}).get("name", "")).strip()
        if not name:
            raise ChannelError("A name cannot be empty.", code="empty_name")
        self.name = name
        return {"name": name}

    def on_disconnect(self, room):
        self.broadcast({"left": self.name}, event="left", include_self=False)
    # [/handlers]

    # [ask]
    def on_ask(self, data, room):
        self.send({"q": data["q"]}, event="question", callback=self.got_answer)

    def got_answer(self, reply):
        self.broadcast(reply, event="answered")
    # [/ask]


class ReadOnlyRoom(RoomChannel):
    event_names = {"typing"}      # on_message and on_rename are not reachable


class InboxChannel(ChannelView):
    def on_subscribe(self, user_id):
        self.send({"user_id": user_id}, event="inbox")


class DocumentChannel(ChannelView):
    def on_subscribe(self, key):
        self.send({"key": str(key)}, event="document")


class ArchiveChannel(ChannelView):
    def on_subscribe(self, year):
        self.send({"year": year}, event="archive")


class LegacyChannel(ChannelView):
    def on_subscribe(self, code):
        self.send({"code": code}, event="legacy")


class PriceChannel(ChannelView):
    slow_consumer_policy = "drop"
