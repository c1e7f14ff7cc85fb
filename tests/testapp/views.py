import gc
import time
import json

import gevent

from django.core.signals import request_finished, request_started
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
def disconnect_user(request):
    """End every subscription of a user, named by username, from a plain Django view."""
    from django.contrib.auth.models import User

    user = User.objects.get(username=json.loads(request.body)["username"])
    socketio_views.disconnect_user(user)
    return JsonResponse({"disconnected": user.username})


@csrf_exempt
def change_user(request):
    """Change a user's rights as the admin would (a save, a permission removed), in this process."""
    from django.contrib.auth.models import Permission, User

    body = json.loads(request.body)
    user = User.objects.get(username=body["username"])
    if "is_active" in body or "is_staff" in body:
        user.is_active = body.get("is_active", user.is_active)
        user.is_staff = body.get("is_staff", user.is_staff)
        user.save()
    if "remove_permission" in body:
        app_label, codename = body["remove_permission"].split(".")
        user.user_permissions.remove(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    return JsonResponse({"changed": user.username})


@csrf_exempt
def direct(request):
    """Send to one subscription from a plain Django view."""
    body = json.loads(request.body)
    socketio_views.send(body["sid"], {"text": body["text"]}, event="direct")
    return JsonResponse({"sent": True})


def tuning(request):
    """How the serving process is tuned (socketio_views.tuning)."""
    return JsonResponse(
        {
            "frozen": gc.get_freeze_count(),
            "track_greenlet_tree": gevent.config.track_greenlet_tree,
            "gc_threshold": gc.get_threshold(),
            "hashing_in_threads": _hashing_in_threads(),
        }
    )


def _hashing_in_threads():
    from django.contrib.auth.hashers import get_hasher

    from socketio_views.hub import OFFLOADED

    return getattr(type(get_hasher()).__dict__.get("verify"), OFFLOADED, False)


#: Requests this process started and finished, counted from when this module loads.
REQUEST_COUNTS = {"started": 0, "finished": 0}


def _count_started(**kwargs):
    REQUEST_COUNTS["started"] += 1


def _count_finished(**kwargs):
    REQUEST_COUNTS["finished"] += 1


request_started.connect(_count_started)
request_finished.connect(_count_finished)


def request_counts(request):
    """How many requests started and finished (this one has started, not finished)."""
    return JsonResponse(REQUEST_COUNTS)


@csrf_exempt
def check_login(request):
    """Check a username and password as a login form does (200 or 401), without logging in."""
    from django.contrib.auth import authenticate

    user = authenticate(request, username=request.POST.get("username"), password=request.POST.get("password"))
    return JsonResponse({"ok": user is not None}, status=200 if user is not None else 401)


def spin(request):
    """Hold the hub for ``?seconds=`` of pure Python computation (socketio_views.hub's monitor reports it)."""
    deadline = time.monotonic() + float(request.GET.get("seconds", "0.5"))
    while time.monotonic() < deadline:
        pass
    return JsonResponse({"spun": True})
