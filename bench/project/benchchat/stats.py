"""``/stats/``: what bench/soak.py reads from inside the server process.

A debug view of the bench project only, never of the package: no login, so it
is mounted only when ``BENCH_STATS=1`` is in the environment (bench/soak.py
sets it), on a server that listens on 127.0.0.1. ``?collect=1`` runs a full
garbage collection first, so that what is counted is what is still reachable.

Greenlets are counted among the objects the garbage collector tracks:
``tune_for_serving()`` freezes what start-up created (``gc.freeze()``), so
the hub and the main greenlet are not among them, at every reading alike.
"""
import collections
import gc
import os
import time

import greenlet
from django.http import JsonResponse


def _rss_kb():
    fields = {}
    with open("/proc/self/status") as status:
        for line in status:
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                fields[name] = int(value.split()[0])
    return fields


def _kind(g):
    run = getattr(g, "_run", None) or getattr(g, "run", None)
    name = getattr(run, "__qualname__", None) or type(run).__name__
    return f"{type(g).__name__}:{getattr(run, '__module__', '') or ''}.{name}"


def _server_figures():
    from socketio_views.transport.server import get_server, server_exists

    if not server_exists():
        return {}
    server = get_server()
    figures = {
        "engineio_sockets": len(server.eio.sockets),
        "subscriptions": len(server.views),
        # A closed socket's ping greenlet sleeps this long before it ends.
        "ping_interval_s": server.eio.ping_interval,
    }
    from socketio_views import history, presence

    store = history.get_history()
    if hasattr(store, "sessions"):
        figures["history_sessions"] = len(store.sessions)
        figures["history_channels"] = len(store.channels)
    channels = getattr(presence.get_presence(), "channels", None)
    if channels is not None:
        figures["presence_channels"] = len(channels)
    return figures


def stats(request):
    """RSS, greenlets, open files and the socket server's tables of this process, as JSON."""
    started = time.monotonic()
    if request.GET.get("collect"):
        gc.collect()
    total = alive = 0
    kinds = collections.Counter()
    for obj in gc.get_objects():
        if isinstance(obj, greenlet.greenlet):
            total += 1
            if not obj.dead:
                alive += 1
                kinds[_kind(obj)] += 1
    memory = _rss_kb()
    return JsonResponse(
        {
            "pid": os.getpid(),
            "rss_kb": memory.get("VmRSS"),
            "hwm_kb": memory.get("VmHWM"),
            "greenlets": total,
            "greenlets_alive": alive,
            "greenlet_kinds": dict(kinds.most_common(15)),
            "open_files": len(os.listdir("/proc/self/fd")),
            **_server_figures(),
            "took_ms": round((time.monotonic() - started) * 1000, 1),
        }
    )
