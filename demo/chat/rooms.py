"""Opening rooms, within bounds: anyone may create one, but not without limit.

A room is created by the first person who joins its slug (from the rooms
page's form or by subscribing to its channel). Creation is rate-limited per
client address and per user (``CHAT_ROOM_CREATION_RATE``), and the number of
rooms is capped (``CHAT_MAX_ROOMS``): at the cap, the oldest room that has
been empty for ``CHAT_EMPTY_ROOM_TTL`` seconds makes way for the new one, and
if there is none the new room is refused. The rooms page hears of each room
that opens or closes, one at a time, never the whole list again.

Room names are slugs in lower case (``Lobby`` is ``lobby``), at most as long
as the model stores. Rooms that visitors created are removed after
``CHAT_IDLE_ROOM_TTL`` seconds (a day) without a message and without anyone
in them: by ``manage.py remove_idle_rooms``, and whenever the rooms page
loads. The built-in rooms (``PERMANENT``) stay.
"""
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.db.models import Q
from django.utils import timezone

import socketio_views
from socketio_views.presence import get_presence
from socketio_views.throttling import RateLimiter

from .models import Room

ROOM_LIST = "rooms"
#: Rooms of the demo's data migration, never closed.
PERMANENT = {"lobby", "members"}
#: What a room name may hold (Django's slugs), as the form's label and its errors say it.
ROOM_NAME_CHARACTERS = "letters, digits, hyphens and underscores"
ROOM_NAME_RULES = f"Room names are {ROOM_NAME_CHARACTERS}."


def max_rooms():
    return getattr(settings, "CHAT_MAX_ROOMS", 50)


def creation_rate():
    return getattr(settings, "CHAT_ROOM_CREATION_RATE", "5/10m")


def empty_room_ttl():
    return timedelta(seconds=getattr(settings, "CHAT_EMPTY_ROOM_TTL", 600))


def idle_room_ttl():
    return timedelta(seconds=getattr(settings, "CHAT_IDLE_ROOM_TTL", 24 * 3600))


class RoomRefused(Exception):
    """A room that cannot be opened; ``message`` and ``code`` say why."""

    def __init__(self, message, code):
        super().__init__(message)
        self.message = message
        self.code = code


def room_entry(room, count=None):
    """What the rooms page shows of a room."""
    if count is None:
        count = get_presence().count(room.channel)
    return {"slug": room.slug, "channel": room.channel, "members_only": room.members_only, "count": count}


def room_counts():
    """Every room (at most ``CHAT_MAX_ROOMS``) with its live number of subscribers."""
    return [room_entry(room) for room in Room.objects.all()[: max_rooms()]]


def normalize_slug(slug):
    """Return the room name ``slug`` stands for (lower case), or raise :class:`RoomRefused` if it cannot be one."""
    limit = Room._meta.get_field("slug").max_length
    if len(slug) > limit:
        raise RoomRefused(f"Room names are at most {limit} characters.", code="room_name_too_long")
    try:
        validate_slug(slug)
    except ValidationError:
        raise RoomRefused(ROOM_NAME_RULES, code="invalid_room_name") from None
    return slug.lower()


def open_room(slug, *, members_only, request):
    """Return ``(room, created)`` for ``slug``, creating the room within the limits, or raise :class:`RoomRefused`.

    ``slug`` must already be in lower case (see :func:`normalize_slug`): a
    channel ``rooms/Lobby`` is refused with ``room_name_not_lower_case``
    rather than becoming a second lobby.
    """
    normal = normalize_slug(slug)
    if normal != slug:
        raise RoomRefused(f"Room names are in lower case: join #{normal}.", code="room_name_not_lower_case")
    room = Room.objects.filter(slug=slug).first()
    if room is not None:
        return room, False
    for key in creator_keys(request):
        allowed, retry_after = RateLimiter.get(creation_rate()).hit(key)
        if not allowed:
            raise RoomRefused(
                f"You have created enough rooms for now; try again in {int(retry_after) + 1} s, or join an existing room.",
                code="too_many_new_rooms",
            )
    if Room.objects.count() >= max_rooms() and not close_an_empty_room():
        raise RoomRefused(f"There are already {max_rooms()} rooms; join one of them.", code="too_many_rooms")
    room, created = Room.objects.get_or_create(slug=slug, defaults={"members_only": members_only})
    if created:
        socketio_views.broadcast(ROOM_LIST, room_entry(room, count=0), event="room_opened")
    return room, created


def creator_keys(request):
    """The identities whose room creations are counted together: the client's address, and the user if logged in."""
    keys = [f"chat:new-room:ip:{request.META.get('REMOTE_ADDR', '')}"]
    if request.user.is_authenticated:
        keys.append(f"chat:new-room:user:{request.user.pk}")
    return keys


def close_an_empty_room():
    """Delete the oldest room that has been empty for a while; return whether there was one."""
    presence = get_presence()
    stale = Room.objects.exclude(slug__in=PERMANENT).filter(created__lt=timezone.now() - empty_room_ttl())
    for room in stale.order_by("created")[: max_rooms()]:
        if presence.count(room.channel) == 0:
            room.delete()
            socketio_views.broadcast(ROOM_LIST, {"channel": room.channel}, event="room_closed")
            return True
    return False


def remove_idle_rooms(now=None):
    """Delete the rooms visitors created that nobody has written in for ``CHAT_IDLE_ROOM_TTL``; return their slugs.

    A room with someone in it stays, as do the built-in rooms. The rooms page
    hears of each one removed.
    """
    cutoff = (now or timezone.now()) - idle_room_ttl()
    idle = Room.objects.exclude(slug__in=PERMANENT).filter(
        Q(last_message__lt=cutoff) | Q(last_message__isnull=True, created__lt=cutoff)
    )
    presence = get_presence()
    removed = []
    for room in idle.order_by("created")[:1000]:
        if presence.count(room.channel) == 0:
            room.delete()
            socketio_views.broadcast(ROOM_LIST, {"channel": room.channel}, event="room_closed")
            removed.append(room.slug)
    return removed
