from socketio_views import ChannelRouter

from .channels import RoomChannel, SoakChannel

router = ChannelRouter()
router.register("rooms/<slug:room>", RoomChannel, name="room")
router.register("soak/<slug:room>", SoakChannel, name="soak")
