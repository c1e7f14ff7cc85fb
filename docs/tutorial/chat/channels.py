from socketio_views import ChannelView
from socketio_views.exceptions import InvalidPayload


class RoomChannel(ChannelView):
    def on_subscribe(self, room):
        user = self.request.user
        self.name = user.get_username() if user.is_authenticated else "anonymous"
        self.broadcast({"joined": self.name})

    def on_message(self, data, room):
        if not isinstance(data, dict) or not isinstance(data.get("text"), str):
            raise InvalidPayload('Send {"text": "..."}.')
        self.broadcast({"user": self.name, "text": data["text"]})
        return {"ok": True}

    def on_disconnect(self, room):
        self.broadcast({"left": self.name}, event="left", include_self=False)
