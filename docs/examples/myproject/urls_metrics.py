"""docs/operations.rst: the Prometheus metrics view in the project's URLconf."""
from django.urls import include, path

from chat.routing import router

# [metrics]
# myproject/urls.py
from socketio_views.metrics import metrics_view

urlpatterns = [
    path("socket.io/", include(router.urls)),
    path("metrics/", metrics_view),
    # ...
]
# [/metrics]
