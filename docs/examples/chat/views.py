"""docs/sending.rst: a broadcast from an ordinary Django view."""
# [announce]
import socketio_views
from django.contrib.admin.views.decorators import staff_member_required
from django.http import JsonResponse

from chat.routing import router


@staff_member_required
def announce(request, room):
    socketio_views.broadcast(
        router.reverse("room", room=room),
        {"text": request.POST.get("text", "")},
        event="notice",
    )
    return JsonResponse({"sent": True})
# [/announce]
