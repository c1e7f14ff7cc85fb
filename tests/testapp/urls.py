from django.contrib.auth.views import LogoutView
from django.urls import include, path

from socketio_views.drain import health_check
from socketio_views.metrics import metrics_view

from . import views
from .routing import router

urlpatterns = [
    path("socket.io/", include(router.urls)),
    path("notify/", views.notify),
    path("direct/", views.direct),
    path("tuning/", views.tuning),
    path("requests/", views.request_counts),
    path("logout/", LogoutView.as_view(next_page="/")),
    path("disconnect-user/", views.disconnect_user),
    path("change-user/", views.change_user),
    path("metrics/", metrics_view),
    path("check-login/", views.check_login),
    path("spin/", views.spin),
    path("healthz/", health_check),
]
