"""The test project's URLs plus the admin and the live channels page (tests/settings_admin.py)."""
from django.contrib import admin
from django.urls import include, path

from socketio_views import ChannelRouter
from socketio_views.admin import live_urls
from socketio_views.live import LIVE_CHANNEL, LiveChannel

from .routing import router as testapp_router
from .urls import urlpatterns as testapp_urlpatterns

router = ChannelRouter()
for registration in testapp_router:
    router.register(
        registration.pattern,
        registration.view_class,
        name=registration.name,
        regex=registration.regex,
        initkwargs=registration.initkwargs,
    )
router.register(LIVE_CHANNEL, LiveChannel)

urlpatterns = [
    path("admin/live-channels/", include(live_urls(admin.site))),
    path("admin/", admin.site.urls),
    path("socket.io/", include(router.urls)),
    *[pattern for pattern in testapp_urlpatterns if str(pattern.pattern) != "socket.io/"],
]
