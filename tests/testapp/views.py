import gc
import json

import gevent

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt

import socketio_views


@csrf_exempt
def notify(request):
    """Broadcast from a plain Django view."""
    body = json.loads(request.body)
    socketio_views.broadcast(body["channel"], {"text": body["text"]}, event="notice")
    return JsonResponse({"sent": True})


@csrf_exempt
def direct(request):
    """Send to one subscription from a plain Django view."""
    body = json.loads(request.body)
    socketio_views.send(body["sid"], {"text": body["text"]}, event="direct")
    return JsonResponse({"sent": True})


def tuning(request):
    """How the serving process is tuned (socketio_views.tuning)."""
    return JsonResponse(
        {"frozen": gc.get_freeze_count(), "track_greenlet_tree": gevent.config.track_greenlet_tree}
    )
