"""A URLconf with two routers at their own paths, each with the same pattern and name: no mistake."""
from django.urls import include, path

from socketio_views import ChannelRouter

from .testapp import channels

chat = ChannelRouter()
chat.register("rooms/<str:room>", channels.RoomChannel, name="room")

support = ChannelRouter()
support.register("rooms/<str:room>", channels.RoomChannel, name="room")
support.register("rooms/<slug:room>", channels.RoomChannel, name="other")

urlpatterns = [
    path("socket.io/", include(chat.urls)),
    path("support/socket.io/", include(support.urls)),
]
