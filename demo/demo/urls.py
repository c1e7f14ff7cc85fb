from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

from socketio_views.admin import live_urls
from socketio_views.live import LIVE_CHANNEL, LiveChannel
from socketio_views.metrics import metrics_view

from chat import views
from chat.routing import router

# The admin's live channels page (/admin/live-channels/) and its channel.
router.register(LIVE_CHANNEL, LiveChannel)

urlpatterns = [
    path("", views.index, name="index"),
    path("rooms/<slug:slug>/", views.room, name="room"),
    path("announce/", views.announce, name="announce"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    # Prometheus's scrape target; staff only (alice), as socketio_views refuses everyone else by default.
    path("metrics/", metrics_view, name="metrics"),
    path("admin/live-channels/", include(live_urls(admin.site))),
    path("admin/", admin.site.urls),
    # Pages that name no icon (the admin's) make browsers ask for /favicon.ico.
    path("favicon.ico", RedirectView.as_view(url=static("chat/favicon.svg"), permanent=True)),
    path("socket.io/", include(router.urls)),
]
