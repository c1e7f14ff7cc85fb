"""The chat of events.py, ported to a ChannelView: what docs/django-socketio.rst shows as the way out of compat."""
from django.utils.html import strip_tags

from socketio_views import ChannelRouter, ChannelView

from .models import ChatRoom


class ChatRoomChannel(ChannelView):
    """One person in a room, the channel ``room-<id>``: the messages of events.py."""

    def on_subscribe(self, room_id):
        self.room = ChatRoom.objects.filter(id=room_id).first()
        self.chat_user = None  # was context["user"]
        return self.room is not None  # False refuses: no such room

    def on_message(self, message, room_id):
        if message["action"] == "start":
            name = strip_tags(message["name"])
            user, created = self.room.users.get_or_create(name=name)
            if not created:
                self.send({"action": "in-use"})  # was socket.send()
                return
            self.chat_user = user
            others = self.room.users.exclude(id=user.id)
            self.send({"action": "started", "users": [u.name for u in others]})
            user.session = self.connection_id  # was socket.session.session_id
            user.save()
            # was socket.send_and_broadcast_channel(): broadcast() includes the sender
            self.broadcast({"action": "join", "name": user.name, "id": user.id})
        elif message["action"] == "message" and self.chat_user is not None:
            text = strip_tags(message["message"])
            self.broadcast({**message, "message": text, "name": self.chat_user.name})

    def on_disconnect(self, room_id):  # was @events.on_finish(channel="^room-")
        user = self.chat_user
        if user is not None:
            # was socket.broadcast_channel(): everyone but the sender
            left = {"action": "leave", "name": user.name, "id": user.id}
            self.broadcast(left, include_self=False)
            user.delete()


router = ChannelRouter()
router.register("room-<int:room_id>", ChatRoomChannel)
