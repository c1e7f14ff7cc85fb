from django.urls import include, path

from chat import views
from chat.routing import router

urlpatterns = [
    path("", views.index, name="index"),
    path("rooms/<slug:slug>/", views.room, name="room"),
    path("socket.io/", include(router.urls)),
]
