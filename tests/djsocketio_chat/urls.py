from django.urls import include, path

from . import views

urlpatterns = [
    path("socket.io/", include("socketio_views.compat.urls")),
    path("system_message/", views.system_message),
    path("direct_message/", views.direct_message),
]
