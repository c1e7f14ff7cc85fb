import json

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
