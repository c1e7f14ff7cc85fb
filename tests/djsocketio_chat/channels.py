"""The chat of events.py, ported to a ChannelView: what docs/django-socketio.rst shows as the way out of compat."""
from django.utils.html import strip_tags

from socketio_views import ChannelRouter, ChannelView

from .models import ChatRoom


class ChatRoomChannel(ChannelView):
    """One person in one room: the channel ``room-<id>``, the same names and messages as events.py."""

    def on_subscribe(self, room_id):
        self.room = ChatRoom.objects.filter(id=room_id).first()
        self.chat_user = None  # was context["user"]
        return self.room is not None  # False refuses: the room does not exist

    def on_message(self, message, room_id):
        if message["action"] == "start":
            user, created = self.room.users.get_or_create(name=strip_tags(message["name"]))
            if not created:
                self.send({"action": "in-use"})  # was socket.send()
                return
            self.chat_user = user
            self.send({"action": "started", "users": [u.name for u in self.room.users.exclude(id=user.id)]})
            user.session = self.connection_id  # was socket.session.session_id
            user.save()
            # was socket.send_and_broadcast_channel(): a broadcast includes the sender
            self.broadcast({"action": "join", "name": user.name, "id": user.id})
        elif message["action"] == "message" and self.chat_user is not None:
            text = strip_tags(message["message"])
            self.broadcast({**message, "message": text, "name": self.chat_user.name})

    def on_disconnect(self, room_id):  # was @events.on_finish(channel="^room-")
        if self.chat_user is not None:
            # was socket.broadcast_channel(): everyone but the sender
            left = {"action": "leave", "name": self.chat_user.name, "id": self.chat_user.id}
            self.broadcast(left, include_self=False)
            self.chat_user.delete()


router = ChannelRouter()
router.register("room-<int:room_id>", ChatRoomChannel)
