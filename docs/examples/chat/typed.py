"""docs/channels.rst: a payload annotated with an attrs class."""
from socketio_views import ChannelView

# [typed]
import attrs


@attrs.define
class ChatMessage:
    text: str = attrs.field(validator=attrs.validators.max_len(500))


class RoomChannel(ChannelView):
    def on_message(self, message: ChatMessage, room):
        self.broadcast({"user": self.request.user.get_username(), "text": message.text})
        return {"ok": True}
# [/typed]
