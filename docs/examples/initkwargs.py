"""docs/routing.rst: initkwargs, attributes set on each instance."""
from socketio_views import ChannelRouter, ChannelView

router = ChannelRouter()

# [initkwargs]
class RoomChannel(ChannelView):
    max_length = 500

router.register("rooms/<slug:room>", RoomChannel)
router.register(
    "announcements/<slug:room>", RoomChannel, initkwargs={"max_length": 5000}
)
# [/initkwargs]
