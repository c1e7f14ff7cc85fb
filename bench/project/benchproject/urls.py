import os

from django.urls import include, path

from benchchat.routing import router

urlpatterns = [
    path("socket.io/", include(router.urls)),
]
try:
    from socketio_views.drain import health_check
except ImportError:  # a socketio_views without the drain (older checkouts)
    pass
else:
    # The load balancer's health check (bench/drain.py).
    urlpatterns.append(path("healthz/", health_check))
if os.environ.get("BENCH_STATS") == "1":
    # bench/soak.py's readings from inside the process (no login: bench only).
    from benchchat.stats import stats

    urlpatterns.append(path("stats/", stats))
