"""
The live channels page of the Django admin: every route, its channels and
subscribers, message rates, presence, and an operator's actions, updated live.

Enable it in two lines: register its channel on your router, and include its
URL before the admin's own::

    # routing.py
    from socketio_views.live import LIVE_CHANNEL, LiveChannel
    router.register(LIVE_CHANNEL, LiveChannel)

    # urls.py
    from django.contrib import admin
    from socketio_views.admin import live_urls

    urlpatterns = [
        path("admin/live-channels/", include(live_urls(admin.site))),
        path("admin/", admin.site.urls),
        path("socket.io/", include(router.urls)),
    ]

Only active staff users with ``socketio_views.view_live_channels`` see it
(others are sent to the admin's login page, or refused with 403); the actions
also need ``socketio_views.operate_live_channels`` (superusers have both).
"""
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.urls import get_script_prefix, path
from django.views.generic import TemplateView

from .live import INTERVAL, LIVE_CHANNEL, RATE_SECONDS, live_endpoint
from .models import OPERATE_PERMISSION, VIEW_PERMISSION


class LiveChannelsView(TemplateView):
    """The page; wrap it in ``admin_site.admin_view()`` (as :func:`live_urls` does)."""

    template_name = "admin/socketio_views/live_channels.html"
    #: The admin site whose header and sidebar the page uses (``None``: ``django.contrib.admin.site``).
    admin_site = None
    #: The permission the page needs (besides being active staff).
    permission_required = VIEW_PERMISSION
    #: The permission that shows the actions (they are checked again by the channel).
    operate_permission_required = OPERATE_PERMISSION

    def dispatch(self, request, *args, **kwargs):
        if not request.user.has_perm(self.permission_required):
            raise PermissionDenied(f"The live channels page needs the {self.permission_required!r} permission.")
        return super().dispatch(request, *args, **kwargs)

    def get_admin_site(self):
        """Return the admin site of the page."""
        return self.admin_site or admin.site

    def get_context_data(self, **kwargs):
        can_operate = self.request.user.has_perm(self.operate_permission_required)
        return {
            **super().get_context_data(**kwargs),
            **self.get_admin_site().each_context(self.request),
            "title": "Live channels",
            "endpoint": get_script_prefix() + live_endpoint(),
            "live_config": {
                "channel": LIVE_CHANNEL,
                "interval": INTERVAL,
                "seconds": RATE_SECONDS,
                "canOperate": can_operate,
            },
            "can_operate": can_operate,
        }


def live_urls(admin_site=None):
    """URL patterns of the page for ``admin_site`` (default: ``django.contrib.admin.site``), for ``include()``.

    The page's URL name is ``socketio_views:live_channels``; ``admin_site``
    checks that the user is active staff and sends others to its login page.
    """
    admin_site = admin_site or admin.site
    view = admin_site.admin_view(LiveChannelsView.as_view(admin_site=admin_site))
    return [path("", view, name="live_channels")], "socketio_views"
