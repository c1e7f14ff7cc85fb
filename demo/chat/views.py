from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render

import socketio_views

from .forms import AnnouncementForm, JoinForm
from .models import Room


def index(request):
    """The rooms, with live counts; pick a nickname and join or create a room."""
    form = JoinForm(request.POST or None, initial={"nickname": request.session.get("nickname", "")})
    if form.is_valid():
        request.session["nickname"] = form.cleaned_data["nickname"].strip()
        room, _ = Room.objects.get_or_create(slug=form.cleaned_data["room"])
        return redirect("room", slug=room.slug)
    return render(request, "chat/index.html", {"form": form, "rooms": Room.objects.all()})


def room(request, slug):
    """A chat room; its page subscribes to the room's channel."""
    room = Room.objects.filter(slug=slug).first() or Room(slug=slug)
    if room.members_only and not request.user.is_authenticated:
        return redirect(f"/login/?next={request.path}")
    return render(request, "chat/room.html", {"room": room, "nickname": request.session.get("nickname", "")})


def announce(request):
    """A plain Django form view that broadcasts to every room: broadcasting from outside a socket."""
    form = AnnouncementForm(request.POST or None)
    if form.is_valid():
        rooms = list(Room.objects.all())
        for room in rooms:
            socketio_views.broadcast(room.channel, {"user": "system", "text": form.cleaned_data["text"], "system": True})
        messages.success(request, f"Announced in {len(rooms)} rooms.")
        return redirect("announce")
    return render(request, "chat/announce.html", {"form": form})
