"""docs/drain.rst: the health check a load balancer polls."""
from django.urls import path

# [health]
from socketio_views.drain import health_check

urlpatterns = [path("healthz/", health_check), ...]
# [/health]
