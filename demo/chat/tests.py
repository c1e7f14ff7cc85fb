"""The demo's channels and views, tested with socketio_views' in-memory test client.

Run them with ``python -m pytest`` (or ``python manage.py test chat``) from ``demo/``.
"""
from datetime import timedelta
from unittest import mock

from django.contrib.auth.models import User
from django.test import override_settings
from django.utils import timezone

from socketio_views.testing import ChannelTestCase, ChannelTestClient, SubscriptionRefused
from socketio_views.throttling import RateLimiter

from .models import Room


class RoomChannelTests(ChannelTestCase):
    def test_message_is_acknowledged_and_reaches_everyone(self):
        """A message is acked with {"ok": true}; every subscriber, the sender too, gets it."""
        alice = ChannelTestClient(auth={"name": "alice"})
        bob = ChannelTestClient(auth={"name": "bob"})
        room = alice.subscribe("rooms/lobby")
        bob.subscribe("rooms/lobby")

        self.assertEqual(room.emit("message", {"text": "hello"}), {"ok": True})
        alice.assert_received("message", {"user": "alice", "text": "hello"})
        bob.assert_received("message", {"user": "alice", "text": "hello"})

    def test_joining_an_unknown_slug_creates_the_room_and_tells_the_rooms_page(self):
        """Like an IRC channel, a room exists once someone joins it; the rooms page hears of that room alone."""
        rooms_page = ChannelTestClient()
        rooms_page.subscribe("rooms")
        ChannelTestClient(auth={"name": "carol"}).subscribe("rooms/brand-new")

        self.assertTrue(Room.objects.filter(slug="brand-new", members_only=False).exists())
        self.assertEqual(1, len(rooms_page.received("rooms")))  # the list, once, when the page subscribed
        rooms_page.assert_received("room_opened", {"slug": "brand-new", "channel": "rooms/brand-new", "members_only": False, "count": 0})
        rooms_page.assert_received("count", {"channel": "rooms/brand-new", "count": 1})

    def test_rooms_page_gets_live_counts(self):
        """Subscribing and leaving update the room's count on the rooms page."""
        rooms_page = ChannelTestClient()
        rooms_page.subscribe("rooms")
        dave = ChannelTestClient(auth={"name": "dave"})
        dave.subscribe("rooms/lobby")
        rooms_page.assert_received("count", {"channel": "rooms/lobby", "count": 1})
        dave.disconnect()
        rooms_page.assert_received("count", {"channel": "rooms/lobby", "count": 0})

    def test_text_is_trimmed_and_capped(self):
        """Messages are stripped and cut at 500 characters."""
        room = ChannelTestClient(auth={"name": "alice"}).subscribe("rooms/long")

        room.emit("message", {"text": "  " + "x" * 600 + "  "})
        room.assert_received("message", {"user": "alice", "text": "x" * 500})

    def test_empty_message_is_refused_and_not_broadcast(self):
        """An empty text is answered with code invalid and nobody receives a message."""
        room = ChannelTestClient(auth={"name": "alice"}).subscribe("rooms/empty")

        self.assertEqual(room.emit("message", {"text": "   "})["error"]["code"], "invalid")
        room.assert_not_received("message")

    def test_nickname_is_required(self):
        """Anonymous subscribers without a nickname are refused with code name_required."""
        with self.assertRaises(SubscriptionRefused) as refused:
            ChannelTestClient().subscribe("rooms/lobby")
        self.assertEqual(refused.exception.code, "name_required")

    def test_logged_in_user_chats_under_their_username(self):
        """A logged-in user's username is the nickname, whatever auth says."""
        alice = User.objects.get(username="alice")
        room = ChannelTestClient(user=alice, auth={"name": "mallory"}).subscribe("rooms/a")

        room.emit("message", {"text": "hi"})
        room.assert_received("message", {"user": "alice", "text": "hi"})

    def test_long_nickname_is_cut(self):
        """Nicknames are cut at 30 characters."""
        room = ChannelTestClient(auth={"name": "n" * 40}).subscribe("rooms/names")

        self.assertEqual(room.emit("message", {"text": "x"}), {"ok": True})
        room.assert_received("message", {"user": "n" * 30, "text": "x"})

    def test_presence_and_typing(self):
        """The newcomer sees who is online; others see joins, leaves and typing (never the typist)."""
        alice = ChannelTestClient(auth={"name": "alice"})
        bob = ChannelTestClient(auth={"name": "bob"})
        alice_room = alice.subscribe("rooms/notices")
        bob_room = bob.subscribe("rooms/notices")

        self.assertEqual([p["user"] for p in bob_room.received("presence_state")[0]["presences"]], ["alice", "bob"])
        alice.assert_received("presence_diff", {"joins": [{"sid": bob_room.sid, "user": "bob"}], "leaves": []})
        bob_room.emit("typing", {})
        alice.assert_received("typing", {"user": "bob"})
        bob.assert_not_received("typing")
        bob.disconnect()
        alice_room.assert_received("presence_diff", {"joins": [], "leaves": [{"sid": bob_room.sid, "user": "bob"}]})

    def test_rate_limit_refuses_a_flood(self):
        """More than a burst of 6 messages at once is refused with rate_limited."""
        RateLimiter.reset()
        room = ChannelTestClient(auth={"name": "flood"}).subscribe("rooms/flood")
        with mock.patch("time.time", return_value=2_000_000.0):
            replies = [room.emit("message", {"text": str(n)}) for n in range(7)]
        self.assertEqual(replies[:6], [{"ok": True}] * 6)
        self.assertEqual(replies[6]["error"]["code"], "rate_limited")

    def test_members_only_room_needs_a_login(self):
        """members/<slug> refuses anonymous users (login_required) and accepts users."""
        with self.assertRaises(SubscriptionRefused) as refused:
            ChannelTestClient(auth={"name": "x"}).subscribe("members/members")
        self.assertEqual(refused.exception.code, "login_required")
        bob = User.objects.get(username="bob")
        room = ChannelTestClient(user=bob).subscribe("members/members")
        room.emit("message", {"text": "members only"})
        room.assert_received("message", {"user": "bob", "text": "members only"})

    def test_a_public_slug_cannot_open_a_members_room(self):
        """rooms/members (a members-only room) is refused: the room must be joined as members/members."""
        with self.assertRaises(SubscriptionRefused) as refused:
            ChannelTestClient(auth={"name": "x"}).subscribe("rooms/members")
        self.assertEqual(refused.exception.code, "wrong_room")


class RoomLimitTests(ChannelTestCase):
    def subscribe(self, slug, **kwargs):
        return ChannelTestClient(auth={"name": "x"}, **kwargs).subscribe(f"rooms/{slug}")

    def refusal(self, slug, **kwargs):
        with self.assertRaises(SubscriptionRefused) as refused:
            self.subscribe(slug, **kwargs)
        return refused.exception

    def test_a_slug_longer_than_the_model_allows_is_refused_clearly(self):
        """A 51-character slug is refused with room_name_too_long, and no room is created."""
        refused = self.refusal("a" * 51)
        self.assertEqual(("Room names are at most 50 characters.", "room_name_too_long"), (refused.message, refused.code))
        self.assertFalse(Room.objects.filter(slug="a" * 51).exists())
        self.subscribe("b" * 50)

    def test_room_creation_is_rate_limited(self):
        """One client creates 5 rooms in 10 minutes, then is refused a sixth; joining existing rooms still works."""
        for n in range(5):
            self.subscribe(f"mine-{n}")
        refused = self.refusal("mine-5")
        self.assertEqual("too_many_new_rooms", refused.code)
        self.assertIn("try again in", refused.message)
        self.assertFalse(Room.objects.filter(slug="mine-5").exists())
        self.subscribe("mine-0")
        self.subscribe("lobby")

    def test_room_creation_is_counted_per_address_and_per_user(self):
        """Each address has its own budget; a logged-in user's creations are counted whatever the address."""
        for n in range(5):
            self.client.post("/", {"nickname": "eve", "room": f"eves-{n}"}, REMOTE_ADDR="10.0.0.1")
        self.client.post("/", {"nickname": "eve", "room": "eves-5"}, REMOTE_ADDR="10.0.0.1")
        self.client.post("/", {"nickname": "ann", "room": "anns"}, REMOTE_ADDR="10.0.0.2")
        self.client.force_login(User.objects.get(username="bob"))
        for n in range(6):
            self.client.post("/", {"room": f"bobs-{n}"}, REMOTE_ADDR=f"10.0.1.{n}")
        created = set(Room.objects.values_list("slug", flat=True))
        self.assertEqual([True, False, True], ["eves-4" in created, "eves-5" in created, "anns" in created])
        self.assertEqual([True, False], ["bobs-4" in created, "bobs-5" in created])

    @override_settings(CHAT_MAX_ROOMS=4)
    def test_at_the_cap_the_oldest_long_empty_room_makes_way(self):
        """At CHAT_MAX_ROOMS, the oldest room empty for CHAT_EMPTY_ROOM_TTL is closed (the rooms page hears of it)."""
        Room.objects.create(slug="old-empty")
        Room.objects.create(slug="older-busy")
        Room.objects.filter(slug__in=["old-empty", "older-busy"]).update(created=timezone.now() - timedelta(hours=1))
        Room.objects.filter(slug="older-busy").update(created=timezone.now() - timedelta(hours=2))
        self.subscribe("older-busy")
        rooms_page = ChannelTestClient()
        rooms_page.subscribe("rooms")

        self.subscribe("fresh")

        self.assertEqual(["fresh", "lobby", "members", "older-busy"], sorted(Room.objects.values_list("slug", flat=True)))
        rooms_page.assert_received("room_closed", {"channel": "rooms/old-empty"})
        rooms_page.assert_received("room_opened", {"slug": "fresh", "channel": "rooms/fresh", "members_only": False, "count": 0})

    @override_settings(CHAT_MAX_ROOMS=4)
    def test_at_the_cap_without_a_room_to_close_a_new_room_is_refused(self):
        """Rooms that are occupied, recent or permanent are kept: the new room is refused with too_many_rooms."""
        Room.objects.create(slug="recent-empty")
        Room.objects.create(slug="old-busy")
        Room.objects.filter(slug="old-busy").update(created=timezone.now() - timedelta(hours=1))
        Room.objects.filter(slug__in=["lobby", "members"]).update(created=timezone.now() - timedelta(days=1))
        self.subscribe("old-busy")

        refused = self.refusal("one-too-many")
        self.assertEqual(("There are already 4 rooms; join one of them.", "too_many_rooms"), (refused.message, refused.code))
        self.assertEqual(4, Room.objects.count())

    def test_the_rooms_list_is_bounded_by_the_cap(self):
        """The rooms page receives at most CHAT_MAX_ROOMS rooms."""
        Room.objects.bulk_create([Room(slug=f"r{n}") for n in range(10)])
        with override_settings(CHAT_MAX_ROOMS=5):
            rooms_page = ChannelTestClient()
            rooms_page.subscribe("rooms")
        self.assertEqual(5, len(rooms_page.received("rooms")[0]["rooms"]))


@override_settings(STORAGES={"staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}})
class PageTests(ChannelTestCase):
    def test_announcement_reaches_every_room(self):
        """The announcement form view broadcasts a system message to every room."""
        lobby = ChannelTestClient(auth={"name": "a"}).subscribe("rooms/lobby")
        alice = User.objects.get(username="alice")
        members = ChannelTestClient(user=alice).subscribe("members/members")

        response = self.client.post("/announce/", {"text": "Maintenance at noon"})
        self.assertRedirects(response, "/announce/")
        announcement = {"user": "system", "text": "Maintenance at noon", "system": True}
        for room in (lobby, members):
            room.assert_received("message", announcement)

    def test_pages_render_with_the_socketio_scripts(self):
        """Rooms and room pages render the client scripts and configuration."""
        page = self.client.get("/rooms/lobby/").content.decode()
        self.assertIn('data-channel="rooms/lobby"', page)
        self.assertIn('<script id="socketio-views-config" type="application/json">{"path": "/socket.io/"}</script>', page)
        self.assertIn("/static/socketio_views/vendor/socket.io.min.js", page)
        self.assertIn("#lobby", self.client.get("/").content.decode())

    def test_members_room_page_redirects_anonymous_users_to_login(self):
        """The members-only room's page sends anonymous visitors to the login page."""
        self.assertRedirects(self.client.get("/rooms/members/"), "/login/?next=/rooms/members/", fetch_redirect_response=False)

    def test_join_form_shows_why_a_room_is_refused(self):
        """The join form applies the same limits, and shows the refusal as the room field's error."""
        with override_settings(CHAT_MAX_ROOMS=2):
            response = self.client.post("/", {"nickname": "eve", "room": "no-room-left"})
        self.assertContains(response, "There are already 2 rooms; join one of them.")
        self.assertFalse(Room.objects.filter(slug="no-room-left").exists())

    def test_a_room_page_with_a_slug_too_long_is_not_found(self):
        """/rooms/<51 characters>/ answers 404."""
        self.assertEqual(404, self.client.get(f"/rooms/{'a' * 51}/").status_code)

    def test_join_form_creates_the_room_and_remembers_the_nickname(self):
        """Joining a new room from the rooms page creates it and remembers the nickname."""
        response = self.client.post("/", {"nickname": "eve", "room": "new-room"})
        self.assertRedirects(response, "/rooms/new-room/")
        self.assertTrue(Room.objects.filter(slug="new-room").exists())
        self.assertEqual(self.client.session["nickname"], "eve")
