from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render

import socketio_views
from socketio_views.throttling import RateLimiter

from .channels import MAX_TEXT, RoomChannel, now_iso, person_of
from .forms import AnnouncementForm, JoinForm
from .models import Room
from .rooms import ROOM_NAME_CHARACTERS, RoomRefused, max_rooms, normalize_slug, open_room, remove_idle_rooms


def announcement_rate():
    return getattr(settings, "CHAT_ANNOUNCEMENT_RATE", "5/m")


def login_rate():
    """Login attempts allowed per client address and per username; ``None`` turns the limit off."""
    return getattr(settings, "CHAT_LOGIN_RATE", "10/m")


class LoginView(auth_views.LoginView):
    """Django's login page, with at most ``CHAT_LOGIN_RATE`` attempts per client address and per username.

    Past either, the attempt is answered with a plain 429 and ``Retry-After``
    before the password is hashed: each check costs a full PBKDF2 hash. The
    per-username count lets anyone delay a user's logins by guessing for
    them, the price of stopping guesses spread over many addresses.
    """

    def post(self, request, *args, **kwargs):
        rate = login_rate()
        if rate is not None:
            # Usernames are at most 150 characters: a longer one must not make a longer key.
            username = str(request.POST.get("username", ""))[:150].casefold()
            # The address first: an address refused spends nothing of the username's attempts.
            for key in (f"chat:login:ip:{request.META.get('REMOTE_ADDR', '')}", f"chat:login:user:{username}"):
                allowed, retry_after = RateLimiter.get(rate).hit(key)
                if not allowed:
                    return too_many_attempts(int(retry_after) + 1)
        return super().post(request, *args, **kwargs)


def too_many_attempts(seconds):
    """The plain 429 of a login refused for ``seconds``."""
    response = HttpResponse(
        f"Too many attempts, try again in {seconds} s.\n", status=429, content_type="text/plain; charset=utf-8"
    )
    response["Retry-After"] = str(seconds)
    return response


def index(request):
    """The rooms, with live counts; pick a nickname and join or create a room. Idle rooms are removed first."""
    form = JoinForm(request.POST or None, user=request.user, initial={"nickname": request.session.get("nickname", "")})
    if form.is_valid():
        request.session["nickname"] = form.cleaned_data["nickname"]
        try:
            room, _ = open_room(form.cleaned_data["room"], members_only=False, request=request)
        except RoomRefused as refused:
            form.add_error("room", refused.message)
        else:
            return redirect("room", slug=room.slug)
    if request.method == "GET":
        remove_idle_rooms()
    context = {"form": form, "rooms": Room.objects.all()[: max_rooms()], "room_name_characters": ROOM_NAME_CHARACTERS}
    return render(request, "chat/index.html", context)


def room(request, slug):
    """A chat room; its page subscribes to the room's channel. ``/rooms/Lobby/`` redirects to ``/rooms/lobby/``."""
    try:
        normal = normalize_slug(slug)
    except RoomRefused:
        raise Http404("No such room.") from None
    if normal != slug:
        return redirect("room", slug=normal, permanent=True)
    room = Room.objects.filter(slug=slug).first() or Room(slug=slug)
    if room.members_only and not request.user.is_authenticated:
        messages.info(request, f"#{room.slug} is for members only: log in to join it.")
        return redirect_to_login(request.get_full_path(), login_url="login")
    if not request.session.session_key:
        # A session of its own, so that one visitor's tabs count as one person in presence.
        request.session.save()
    context = {
        "room": room,
        "nickname": request.session.get("nickname", ""),
        "history_on_join": RoomChannel.send_history_on_subscribe,
        "person": person_of(request),
        "max_text": MAX_TEXT,
    }
    return render(request, "chat/room.html", context)


def announce(request):
    """A plain Django form view that broadcasts to every room: broadcasting from outside a socket.

    Staff only (demo user alice), and at most ``CHAT_ANNOUNCEMENT_RATE``
    (5 a minute) per user.
    """
    if not request.user.is_staff:
        if request.user.is_authenticated:
            return render(request, "chat/announce.html", {"refused": True}, status=403)
        messages.info(request, "Announcements are for staff: log in as alice to make one.")
        return redirect_to_login(request.get_full_path(), login_url="login")
    form = AnnouncementForm(request.POST or None)
    status = 200
    if form.is_valid():
        allowed, retry_after = RateLimiter.get(announcement_rate()).hit(f"chat:announce:user:{request.user.pk}")
        if allowed:
            rooms = list(Room.objects.all())
            data = {"user": "system", "text": form.cleaned_data["text"], "system": True, "at": now_iso()}
            for room in rooms:
                socketio_views.broadcast(room.channel, data)
            messages.success(request, f"Announced in {len(rooms)} rooms.")
            return redirect("announce")
        form.add_error(None, f"Enough announcements for now: try again in {int(retry_after) + 1} s.")
        status = 429
    return render(request, "chat/announce.html", {"form": form}, status=status)
