"""The demo's channels, written only with socketio_views' public API."""
import unicodedata

import attrs
from confusable_homoglyphs import confusables
from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.crypto import salted_hmac

import socketio_views
from socketio_views import ChannelError, ChannelView
from socketio_views.mixins import (
    IdempotentEventsMixin,
    LoginRequiredMixin,
    PresenceMixin,
    RateLimitMixin,
)
from socketio_views.presence import get_presence
from socketio_views.throttling import RateLimiter

from .models import Room
from .rooms import ROOM_LIST, RoomRefused, open_room, room_counts

MAX_NAME = 30
MAX_TEXT = 500
MAX_CLIENT_ID = 64
#: Names nobody may chat under (announcements are shown as "System").
RESERVED_NAMES = {"system"}
#: Typing notices have their own, looser limit: they never use up the message budget.
TYPING_RATE = "3/s"


def _not_blank(instance, attribute, value):
    if not value.strip():
        raise ValueError("Type a message first.")


@attrs.define
class ChatMessage:
    """The payload of ``message``: ``{"text": "..."}``, not blank; trimmed and cut to 500 characters when sent.

    ``id`` (optional, at most 64 characters) is the sender's own name for the
    message, echoed in its broadcast: the room page knows its message arrived
    even when the acknowledgement was lost with the connection.
    """

    text: str = attrs.field(validator=_not_blank)
    id: str = attrs.field(default="", validator=attrs.validators.max_len(MAX_CLIENT_ID))


@attrs.define
class TypingNotice:
    """The payload of ``typing``: ``{}``."""


#: Variation selectors: marks that change nothing visible in a name.
_VARIATION_SELECTORS = {*range(0xFE00, 0xFE10), *range(0xE0100, 0xE01F0)}


def clean_name(value):
    """``value`` as a nickname: NFKC-normalised, without invisible characters, spaces collapsed, at most 30 characters.

    Full-width letters become plain ones and format characters (zero-width
    spaces and joiners, soft hyphens, ...) are dropped, so that "alice" with
    a zero-width space is "alice" and cannot pass for the user alice.
    """
    value = unicodedata.normalize("NFKC", value)
    value = "".join(
        char for char in value
        if unicodedata.category(char) not in {"Cc", "Cf", "Co", "Cs", "Cn"} and ord(char) not in _VARIATION_SELECTORS
    )
    return " ".join(value.split())[:MAX_NAME]


def skeleton(name):
    """What ``name`` looks like, to compare names: case-folded, each non-ASCII letter that has
    an ASCII look-alike replaced by it (Cyrillic "а" is "a", Greek "ο" is "o").

    The look-alikes are Unicode's confusables (UTS #39), from the
    confusable_homoglyphs package; ``name`` is already NFKC (:func:`clean_name`),
    so full-width letters are plain ones by then.
    """
    shown = []
    for char in name:
        if not char.isascii():
            found = confusables.is_confusable(char, greedy=True, preferred_aliases=["latin"])
            looks_like = [glyph["c"] for glyph in found[0]["homoglyphs"]] if found else []
            char = next((glyph for glyph in looks_like if glyph.isascii()), char)
        shown.append(char)
    return "".join(shown).casefold()


def name_refusal(name):
    """Why an anonymous visitor may not chat as ``name`` (a :func:`clean_name`), or ``None`` if they may.

    A registered user's name is theirs alone (case and look-alike letters
    aside), so that nobody can pass for them without logging in; "system" is
    the announcements'.
    """
    looks = skeleton(name)
    if looks in RESERVED_NAMES:
        return f'The name "{name}" is kept for announcements: pick another nickname.'
    if get_user_model().objects.filter(username__iexact=name).exists() or (
        looks != name.casefold() and get_user_model().objects.filter(username__iexact=looks).exists()
    ):
        return f'The name "{name}" belongs to a registered user: log in, or pick another nickname.'
    return None


def person_of(request, sid=None):
    """Who is behind a request, the same for all their tabs: ``user:<pk>``, else ``guest:<hash of the session>``
    (``tab:<sid>`` without a session). Messages carry it: a page marks "(you)" by it, not by the name."""
    user = request.user
    if user.is_authenticated:
        return f"user:{user.pk}"
    session = getattr(request, "session", None)
    key = session.session_key if session is not None else None
    if not key:
        return f"tab:{sid}"
    return "guest:" + salted_hmac("chat.person", key, algorithm="sha256").hexdigest()[:16]


def now_iso():
    """The server's time, as the ``at`` of a message: ISO 8601 in UTC, to the millisecond."""
    return timezone.now().isoformat(timespec="milliseconds").replace("+00:00", "Z")


class RoomListChannel(ChannelView):
    """``rooms``: the rooms page; receives the rooms once, then ``room_opened``, ``room_closed`` and ``count``."""

    def on_subscribe(self):
        self.send({"rooms": room_counts()}, event="rooms")


class RoomChannel(IdempotentEventsMixin, RateLimitMixin, PresenceMixin, ChannelView):
    """``rooms/<slug:room>``: everyone in a room sees everyone's messages.

    Subscribe with ``auth={"name": "nickname"}`` (or be logged in: then one
    chats as one's username, and anonymous visitors may not take it); emit
    ``message`` with ``{"text": "..."}`` (and optionally an ``"id"`` of the
    sender's), acknowledged with ``{"ok": true}``; every subscriber, the
    sender included, receives ``message`` with ``{"user": ..., "person":
    ..., "text": ..., "at": "<ISO 8601 UTC>"}`` (and the ``id``, if given).
    A nickname is unique in a room: one that looks like the name of someone
    else here is refused with ``name_in_use``. Who is online
    arrives as ``presence_state`` and ``presence_diff`` (each entry with a
    ``person``: one person's several tabs share it). More than 3 messages a
    second (bursts of 6) from one user (else one address: reconnecting, or
    chatting in another room, gains nothing) are refused with
    ``rate_limited`` and ``retry_after``; ``typing`` (``{}``) has a limit of
    its own. A newcomer
    receives the last 50 messages; a client that reconnects within two
    minutes recovers what it missed.
    """

    rate_limit = "3/s"
    rate_limit_burst = 6
    # A message sent again (socket.io-client's retries, or the page after a
    # reconnection) with the same "id" is answered once, posted once.
    idempotent_events = {"message"}
    members_only = False
    # The last 100 messages are kept for a day of silence: a newcomer sees 50
    # of them, and a client that reconnects receives what it missed.
    history = 100
    history_ttl = 24 * 3600
    history_events = {"message"}
    send_history_on_subscribe = 50

    @property
    def rate_limit_scope(self):
        """Per user, else per client address (``CHAT_MESSAGE_RATE_SCOPE``, ``"user_or_ip"``): a per-subscription
        budget would be renewed by every reconnection, and multiplied by every tab."""
        return getattr(settings, "CHAT_MESSAGE_RATE_SCOPE", "user_or_ip")

    def on_subscribe(self, room):
        user = self.request.user
        if user.is_authenticated:
            name = user.get_username()
        else:
            name = self.auth.get("name", "")
            if not isinstance(name, str):
                raise ChannelError("Your nickname must be text.", code="invalid")
            name = clean_name(name)
            if not name:
                raise ChannelError("Pick a nickname first.", code="name_required")
            refusal = name_refusal(name)
            if refusal:
                raise ChannelError(refusal, code="name_taken")
            self.refuse_a_name_in_use(name)
        self.name = name
        try:
            room_object, _created = open_room(room, members_only=self.members_only, request=self.request)
        except RoomRefused as refused:
            raise ChannelError(refused.message, code=refused.code) from None
        if room_object.members_only != self.members_only:
            raise ChannelError("This room is members-only: open it from the rooms page.", code="wrong_room")

    def refuse_a_name_in_use(self, name):
        """One live name per person in a room: refuse ``name`` if someone else here looks the same (``name_in_use``).

        One's own other tabs, or the subscription a reconnecting page left
        behind, are the same person and do not count.
        """
        looks, me = skeleton(name), self.person()
        for entry in self.presence():
            if entry.get("person") != me and skeleton(str(entry.get("user", ""))) == looks:
                raise ChannelError(
                    f'Someone in this room is already called "{entry["user"]}": pick another nickname.',
                    code="name_in_use",
                )

    def person(self):
        """Who is behind this subscription, the same for all their tabs: the user, else the browser's session."""
        return person_of(self.request, self.sid)

    def get_presence_meta(self):
        return {"user": self.name, "person": self.person()}

    def after_subscribe(self, room):
        self.announce_count()

    def after_disconnect(self, room):
        self.announce_count()

    def announce_count(self):
        """Tell the rooms page how many are here now (presence has been updated by then)."""
        socketio_views.broadcast(
            ROOM_LIST, {"channel": self.channel, "count": get_presence().count(self.channel)}, event="count"
        )

    def dispatch(self, event, data):
        if event == "typing":
            # Counted apart from messages: skip RateLimitMixin, whose budget is for messages.
            allowed, _retry_after = RateLimiter.get(TYPING_RATE).hit(f"chat.typing:{self.sid}")
            if not allowed:
                return None  # a dropped typing notice is not worth an error
            return super(RateLimitMixin, self).dispatch(event, data)
        return super().dispatch(event, data)

    def on_message(self, message: ChatMessage, room):
        at = now_iso()
        data = {"user": self.name, "person": self.person(), "text": message.text.strip()[:MAX_TEXT], "at": at}
        if message.id:
            data["id"] = message.id
        self.broadcast(data)
        Room.objects.filter(slug=room, members_only=self.members_only).update(last_message=timezone.now())
        return {"ok": True, "at": at}

    def on_typing(self, data: TypingNotice, room):
        self.broadcast({"user": self.name}, event="typing", include_self=False)


class MembersRoomChannel(LoginRequiredMixin, RoomChannel):
    """``members/<slug:room>``: a room for logged-in users only."""

    members_only = True
