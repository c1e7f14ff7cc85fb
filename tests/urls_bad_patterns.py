"""A URLconf whose router has every channel-pattern mistake the system checks catch."""
from django.urls import include, path

from socketio_views import ChannelRouter

from .testapp import channels

router = ChannelRouter()
router.register("/rooms/<slug:room>", channels.RoomChannel, name="room")
router.register("lobby/<slug:room", channels.RoomChannel)
router.register("things/<str:name>", channels.RoomChannel, name="room")
router.register("things/<int:number>", channels.RoomChannel)

urlpatterns = [path("socket.io/", include(router.urls))]
