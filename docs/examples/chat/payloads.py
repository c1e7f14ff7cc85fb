"""docs/security.rst: payloads built and checked by cattrs, and a reply as an attrs instance."""
# [payloads]
import attrs

from socketio_views import ChannelView


@attrs.define
class ChatMessage:
    text: str = attrs.field(validator=attrs.validators.max_len(500))
    priority: int = 0


@attrs.define
class Posted:
    user: str
    text: str


class RoomChannel(ChannelView):
    def on_message(self, message: ChatMessage, room):
        self.broadcast(Posted(user=self.request.user.get_username(), text=message.text))
        return {"ok": True}
# [/payloads]
