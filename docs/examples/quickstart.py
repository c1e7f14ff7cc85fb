"""docs/index.rst: the smallest channel."""
# [quickstart]
# chat/channels.py
from socketio_views import ChannelView

class RoomChannel(ChannelView):
    def on_message(self, data, room):
        self.broadcast(data)        # to every subscriber, sender included
        return {"ok": True}         # the Socket.IO acknowledgement
# [/quickstart]
