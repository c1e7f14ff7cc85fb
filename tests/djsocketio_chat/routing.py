"""Halfway through a port: the ported room channel and events.py's handlers on one router."""
from socketio_views import ChannelRouter, compat

from .channels import ChatRoomChannel

router = ChannelRouter()
router.register("room-<int:room_id>", ChatRoomChannel)  # ported
compat.register(router)  # every other channel: the events.py handlers
