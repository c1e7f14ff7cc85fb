from socketio_views import ChannelRouter

from .channels import RoomChannel

router = ChannelRouter()
router.register("rooms/<slug:room>", RoomChannel, name="room")
