from socketio_views import ChannelRouter

from .channels import MembersRoomChannel, RoomChannel, RoomListChannel

router = ChannelRouter()
router.register("rooms", RoomListChannel, name="rooms")
router.register("rooms/<slug:room>", RoomChannel, name="room")
router.register("members/<slug:room>", MembersRoomChannel, name="members-room")
