"""docs/admin.rst: the live channels page, before the admin's catch-all pattern."""
# [live-admin]
# myproject/routing.py
from socketio_views import ChannelRouter
from socketio_views.live import LIVE_CHANNEL, LiveChannel

router = ChannelRouter()
...
router.register(LIVE_CHANNEL, LiveChannel)

# myproject/urls.py
from django.contrib import admin
from django.urls import include, path
from socketio_views.admin import live_urls

urlpatterns = [
    path("admin/live-channels/", include(live_urls(admin.site))),
    path("admin/", admin.site.urls),
    path("socket.io/", include(router.urls)),
]
# [/live-admin]


class MyAdminSite(admin.AdminSite):
    def get_urls(self):
        return [path("live-channels/", include(live_urls(self))), *super().get_urls()]
