from django.contrib.auth import views as auth_views
from django.urls import include, path

from chat import views
from chat.routing import router

urlpatterns = [
    path("", views.index, name="index"),
    path("rooms/<slug:slug>/", views.room, name="room"),
    path("announce/", views.announce, name="announce"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("socket.io/", include(router.urls)),
]
