from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render

import socketio_views

from .forms import AnnouncementForm, JoinForm
from .models import Room
from .rooms import RoomRefused, max_rooms, open_room


def index(request):
    """The rooms, with live counts; pick a nickname and join or create a room."""
    form = JoinForm(request.POST or None, initial={"nickname": request.session.get("nickname", "")})
    if form.is_valid():
        request.session["nickname"] = form.cleaned_data["nickname"].strip()
        try:
            room, _ = open_room(form.cleaned_data["room"], members_only=False, request=request)
        except RoomRefused as refused:
            form.add_error("room", refused.message)
        else:
            return redirect("room", slug=room.slug)
    return render(request, "chat/index.html", {"form": form, "rooms": Room.objects.all()[: max_rooms()]})


def room(request, slug):
    """A chat room; its page subscribes to the room's channel."""
    if len(slug) > Room._meta.get_field("slug").max_length:
        raise Http404("No such room.")
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
