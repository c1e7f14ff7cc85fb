"""The chat's staff "system message" form, as a view that posts like it (written for these tests)."""
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from socketio_views.compat import NoSocket, broadcast, broadcast_channel, send


@csrf_exempt
@require_POST
def system_message(request):
    """Send ``{"action": "system", "message": ...}`` to room ``room`` (a room id), or to everyone without one."""
    data = {"action": "system", "message": request.POST["message"]}
    room = request.POST.get("room")
    if room:
        broadcast_channel(data, channel="room-" + room)
    else:
        broadcast(data)
    return JsonResponse({"sent": True})


@csrf_exempt
@require_POST
def direct_message(request):
    """Send a message to one connection by its session id (``socket.session.session_id``)."""
    try:
        send(request.POST["session"], {"action": "direct", "message": request.POST["message"]})
    except NoSocket as exc:
        return JsonResponse({"sent": False, "error": str(exc)})
    return JsonResponse({"sent": True})
