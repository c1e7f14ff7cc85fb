"""docs/routing.rst: two routers, each at its own endpoint."""
from django.urls import include, path

from socketio_views import ChannelRouter

from chat.channels import RoomChannel
from chat.routing import router as chat_router

staff_router = ChannelRouter()
staff_router.register("desk/<slug:room>", RoomChannel)

# [two-routers]
urlpatterns = [
    path("socket.io/", include(chat_router.urls)),
    path("staff-io/", include(staff_router.urls)),
]
# [/two-routers]
