import os

from django.urls import include, path

from benchchat.routing import router

urlpatterns = [
    path("socket.io/", include(router.urls)),
]
if os.environ.get("BENCH_STATS") == "1":
    # bench/soak.py's readings from inside the process (no login: bench only).
    from benchchat.stats import stats

    urlpatterns.append(path("stats/", stats))
