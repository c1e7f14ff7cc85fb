"""The demo's channels and views, tested with socketio_views' in-memory test client.

Run them with ``python -m pytest`` (or ``python manage.py test chat``) from ``demo/``.
"""
import re
from datetime import timedelta
from io import StringIO
from pathlib import Path
from unittest import mock
from unittest.mock import ANY

from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import SimpleTestCase, override_settings
from django.utils import timezone

from socketio_views.testing import ChannelTestCase, ChannelTestClient, SubscriptionRefused
from socketio_views.throttling import RateLimiter

from .models import Room
from .rooms import remove_idle_rooms


class RoomChannelTests(ChannelTestCase):
    def test_message_is_acknowledged_and_reaches_everyone(self):
        """A message is acked with {"ok": true}; every subscriber, the sender too, gets it."""
        ann = ChannelTestClient(auth={"name": "ann"})
        ben = ChannelTestClient(auth={"name": "ben"})
        room = ann.subscribe("rooms/lobby")
        ben.subscribe("rooms/lobby")

        ack = room.emit("message", {"text": "hello"})
        self.assertEqual({"ok": True, "at": ANY}, ack)
        ann.assert_received(
            "message", {"user": "ann", "person": ANY, "text": "hello", "at": ack["at"]}
        )
        ben.assert_received(
            "message", {"user": "ann", "person": ANY, "text": "hello", "at": ack["at"]}
        )

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
        room = ChannelTestClient(auth={"name": "ann"}).subscribe("rooms/long")

        room.emit("message", {"text": "  " + "x" * 600 + "  "})
        room.assert_received(
            "message", {"user": "ann", "person": ANY, "text": "x" * 500, "at": ANY}
        )

    def test_a_message_id_is_echoed_in_its_broadcast(self):
        """The sender's optional id comes back with the message, so a page knows its message arrived without the ack."""
        ann = ChannelTestClient(auth={"name": "ann"}).subscribe("rooms/ids")
        ben = ChannelTestClient(auth={"name": "ben"}).subscribe("rooms/ids")
        ack = ann.emit("message", {"text": "hello", "id": "k3x-1"})
        self.assertEqual({"ok": True, "at": ANY}, ack)
        for room in (ann, ben):
            room.assert_received(
                "message", {"user": "ann", "person": ANY, "text": "hello", "at": ack["at"], "id": "k3x-1"}
            )
        for wrong in ({"text": "x", "id": 5}, {"text": "x", "id": "i" * 65}):
            with self.subTest(wrong=wrong):
                self.assertEqual("invalid", ann.emit("message", wrong)["error"]["code"])

    def test_empty_message_is_refused_and_not_broadcast(self):
        """An empty text is answered with code invalid and nobody receives a message."""
        room = ChannelTestClient(auth={"name": "ann"}).subscribe("rooms/empty")

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
        room.assert_received(
            "message", {"user": "alice", "person": ANY, "text": "hi", "at": ANY}
        )

    def test_long_nickname_is_cut(self):
        """Nicknames are cut at 30 characters."""
        room = ChannelTestClient(auth={"name": "n" * 40}).subscribe("rooms/names")

        self.assertEqual(room.emit("message", {"text": "x"}), {"ok": True, "at": ANY})
        room.assert_received(
            "message", {"user": "n" * 30, "person": ANY, "text": "x", "at": ANY}
        )

    def test_presence_and_typing(self):
        """The newcomer sees who is online; others see joins, leaves and typing (never the typist)."""
        ann = ChannelTestClient(auth={"name": "ann"})
        ben = ChannelTestClient(auth={"name": "ben"})
        ann_room = ann.subscribe("rooms/notices")
        ben_room = ben.subscribe("rooms/notices")

        self.assertEqual([p["user"] for p in ben_room.received("presence_state")[0]["presences"]], ["ann", "ben"])
        ben_entry = {"sid": ben_room.sid, "user": "ben", "person": f"tab:{ben_room.sid}"}
        ann.assert_received("presence_diff", {"joins": [ben_entry], "leaves": []})
        ben_room.emit("typing", {})
        ann.assert_received("typing", {"user": "ben"})
        ben.assert_not_received("typing")
        ben.disconnect()
        ann_room.assert_received("presence_diff", {"joins": [], "leaves": [ben_entry]})

    def test_rate_limit_refuses_a_flood(self):
        """More than a burst of 6 messages at once is refused with rate_limited."""
        RateLimiter.reset()
        room = ChannelTestClient(auth={"name": "flood"}).subscribe("rooms/flood")
        with mock.patch("time.time", return_value=2_000_000.0):
            replies = [room.emit("message", {"text": str(n)}) for n in range(7)]
        self.assertEqual(replies[:6], [{"ok": True, "at": ANY}] * 6)
        self.assertEqual(replies[6]["error"]["code"], "rate_limited")

    def test_reconnecting_does_not_renew_the_message_budget(self):
        """The budget is the user's, else the address's: a new connection, or another room, gains no message."""
        bob = User.objects.get(username="bob")
        with mock.patch("time.time", return_value=3_000_000.0):
            first = ChannelTestClient(auth={"name": "flood"}).subscribe("rooms/budget")
            sent = [first.emit("message", {"text": str(n)}) for n in range(6)]
            first.client.disconnect()
            again = ChannelTestClient(auth={"name": "flood"}).subscribe("rooms/budget")
            elsewhere = ChannelTestClient(auth={"name": "flood"}).subscribe("rooms/budget-2")
            refused = [again.emit("message", {"text": "6"}), elsewhere.emit("message", {"text": "7"})]
            users = [ChannelTestClient(user=bob).subscribe("rooms/budget") for _ in range(2)]
            bobs = [users[n % 2].emit("message", {"text": str(n)}) for n in range(7)]
        self.assertEqual([{"ok": True, "at": ANY}] * 6, sent)
        self.assertEqual(["rate_limited", "rate_limited"], [reply["error"]["code"] for reply in refused])
        # A logged-in user has a budget of their own, wherever they connect from, shared by their tabs.
        self.assertEqual([{"ok": True, "at": ANY}] * 6, bobs[:6])
        self.assertEqual("rate_limited", bobs[6]["error"]["code"])

    def test_members_only_room_needs_a_login(self):
        """members/<slug> refuses anonymous users (login_required) and accepts users."""
        with self.assertRaises(SubscriptionRefused) as refused:
            ChannelTestClient(auth={"name": "x"}).subscribe("members/members")
        self.assertEqual(refused.exception.code, "login_required")
        bob = User.objects.get(username="bob")
        room = ChannelTestClient(user=bob).subscribe("members/members")
        room.emit("message", {"text": "members only"})
        room.assert_received(
            "message", {"user": "bob", "person": ANY, "text": "members only", "at": ANY}
        )

    def test_a_public_slug_cannot_open_a_members_room(self):
        """rooms/members (a members-only room) is refused: the room must be joined as members/members."""
        with self.assertRaises(SubscriptionRefused) as refused:
            ChannelTestClient(auth={"name": "x"}).subscribe("rooms/members")
        self.assertEqual(refused.exception.code, "wrong_room")


class RoomLimitTests(ChannelTestCase):
    def subscribe(self, slug, **kwargs):
        self.visitors = getattr(self, "visitors", 0) + 1  # nicknames are unique in a room
        return ChannelTestClient(auth={"name": f"x{self.visitors}"}, **kwargs).subscribe(f"rooms/{slug}")

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

        self.client.force_login(User.objects.get(username="alice"))
        response = self.client.post("/announce/", {"text": "Maintenance at noon"})
        self.assertRedirects(response, "/announce/")
        announcement = {
            "user": "system", "text": "Maintenance at noon", "system": True, "at": ANY,
        }
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
        """The members-only room's page sends anonymous visitors to the login page, which says why and returns to the room."""
        response = self.client.get("/rooms/members/", follow=True)
        self.assertRedirects(response, "/login/?next=/rooms/members/")
        self.assertContains(response, "#members is for members only: log in to join it.")
        self.assertContains(response, '<input type="hidden" name="next" value="/rooms/members/">', html=True)
        after_login = self.client.post("/login/", {"username": "bob", "password": "demo", "next": "/rooms/members/"})
        self.assertRedirects(after_login, "/rooms/members/")

    def test_join_form_shows_why_a_room_is_refused(self):
        """The join form applies the same limits, and shows the refusal as the room field's error."""
        with override_settings(CHAT_MAX_ROOMS=2):
            response = self.client.post("/", {"nickname": "eve", "room": "no-room-left"})
        self.assertContains(response, "There are already 2 rooms; join one of them.")
        self.assertFalse(Room.objects.filter(slug="no-room-left").exists())

    def test_the_live_channels_page_is_linked_for_those_who_may_see_it(self):
        """alice (superuser) finds the admin's live channels page in the header; bob and visitors do not see the link."""
        link = '<a href="/admin/live-channels/">Live channels</a>'
        self.assertNotContains(self.client.get("/"), link, html=True)
        self.client.force_login(User.objects.get(username="bob"))
        self.assertNotContains(self.client.get("/"), link, html=True)
        self.client.force_login(User.objects.get(username="alice"))
        self.assertContains(self.client.get("/"), link, html=True)
        self.assertContains(self.client.get("/rooms/lobby/"), link, html=True)
        self.assertEqual(200, self.client.get("/admin/live-channels/").status_code)

    def test_the_metrics_are_served_to_staff_only(self):
        """/metrics/ gives Prometheus's text to alice (staff) and 403 to bob and to visitors."""
        self.assertEqual(403, self.client.get("/metrics/").status_code)
        self.client.force_login(User.objects.get(username="bob"))
        self.assertEqual(403, self.client.get("/metrics/").status_code)
        self.client.force_login(User.objects.get(username="alice"))
        response = self.client.get("/metrics/")
        self.assertEqual(200, response.status_code)
        self.assertIn(b"# TYPE socketio_views_subscriptions gauge", response.content)

    def test_a_room_page_with_a_slug_too_long_is_not_found(self):
        """/rooms/<51 characters>/ answers 404."""
        self.assertEqual(404, self.client.get(f"/rooms/{'a' * 51}/").status_code)

    def test_join_form_creates_the_room_and_remembers_the_nickname(self):
        """Joining a new room from the rooms page creates it and remembers the nickname."""
        response = self.client.post("/", {"nickname": "eve", "room": "new-room"})
        self.assertRedirects(response, "/rooms/new-room/")
        self.assertTrue(Room.objects.filter(slug="new-room").exists())
        self.assertEqual(self.client.session["nickname"], "eve")


class AbuseTests(ChannelTestCase):
    """The holes an attacker found in the demo, closed."""

    def setUp(self):
        super().setUp()  # the test hub (ChannelTestMixin), which resets the rate limits too
        RateLimiter.reset()

    def test_announcements_refuse_anonymous_visitors_with_a_reason(self):
        """/announce/ sends anonymous visitors to the login page, which says announcements are for staff."""
        lobby = ChannelTestClient(auth={"name": "ann"}).subscribe("rooms/lobby")
        response = self.client.post("/announce/", {"text": "spam"}, follow=True)
        self.assertRedirects(response, "/login/?next=/announce/")
        self.assertContains(response, "Announcements are for staff: log in as alice to make one.")
        lobby.assert_not_received("message")

    def test_announcements_refuse_users_who_are_not_staff(self):
        """bob (not staff) gets 403 and the form is not shown; nothing is broadcast."""
        lobby = ChannelTestClient(auth={"name": "ann"}).subscribe("rooms/lobby")
        self.client.force_login(User.objects.get(username="bob"))
        response = self.client.post("/announce/", {"text": "spam"})
        self.assertEqual(403, response.status_code)
        self.assertContains(response, "Announcements are for staff only.", status_code=403)
        lobby.assert_not_received("message")
        self.assertNotContains(self.client.get("/"), 'href="/announce/"')

    def test_announcements_are_rate_limited(self):
        """alice (staff) makes 5 announcements a minute; the sixth is refused with 429 and a wait."""
        lobby = ChannelTestClient(auth={"name": "ann"}).subscribe("rooms/lobby")
        self.client.force_login(User.objects.get(username="alice"))
        statuses = [self.client.post("/announce/", {"text": f"news {n}"}).status_code for n in range(6)]
        self.assertEqual([302] * 5 + [429], statuses)
        refused = self.client.post("/announce/", {"text": "news 6"})
        self.assertContains(refused, "Enough announcements for now: try again in", status_code=429)
        self.assertEqual([f"news {n}" for n in range(5)], [m["text"] for m in lobby.received("message")])
        self.assertContains(self.client.get("/"), 'href="/announce/"')

    def test_payloads_of_the_wrong_shape_are_invalid_not_server_errors(self):
        """message and typing with a list, a number, a string, null or a wrong field type answer code invalid."""
        room = ChannelTestClient(auth={"name": "ann"}).subscribe("rooms/shapes")
        wrong = [[1], 3, "text", None, {"text": 3}, {"text": "hi", "html": "<b>"}]
        with mock.patch("time.time", return_value=3_000_000.0):
            codes = [room.emit("message", payload)["error"]["code"] for payload in wrong]
        with mock.patch("time.time", return_value=3_000_100.0):
            typing_codes = [room.emit("typing", payload)["error"]["code"] for payload in wrong[:3]]
        self.assertEqual(["invalid"] * len(wrong), codes)
        self.assertEqual(["invalid"] * 3, typing_codes)
        room.assert_not_received("message")

    def test_typing_does_not_use_up_the_message_limit(self):
        """Typing notices have their own limit: after a burst of them, 6 messages still go through."""
        room = ChannelTestClient(auth={"name": "ann"}).subscribe("rooms/typing")
        with mock.patch("time.time", return_value=4_000_000.0):
            typing = [room.emit("typing", {}) for _ in range(10)]
            replies = [room.emit("message", {"text": str(n)}) for n in range(7)]
        self.assertEqual([None] * 10, typing)  # beyond 3 a second they are dropped, not answered with an error
        self.assertEqual([{"ok": True, "at": ANY}] * 6, replies[:6])
        self.assertEqual("rate_limited", replies[6]["error"]["code"])
        self.assertGreater(replies[6]["error"]["retry_after"], 0)

    def test_registered_names_are_reserved_for_their_users(self):
        """Anonymous visitors cannot chat as alice (in any case) or as system; alice herself can, logged in."""
        for name in ("alice", "ALICE", "Bob", "system"):
            with self.subTest(name=name), self.assertRaises(SubscriptionRefused) as refused:
                ChannelTestClient(auth={"name": name}).subscribe("rooms/lobby")
            self.assertEqual("name_taken", refused.exception.code)
            if name == "Bob":
                self.assertEqual('The name "Bob" belongs to a registered user: log in, or pick another nickname.', refused.exception.message)
        # "system" is no user's: it is the name announcements are shown under.
        self.assertEqual('The name "system" is kept for announcements: pick another nickname.', refused.exception.message)
        self.assertContains(self.client.post("/", {"nickname": "System", "room": "lobby"}), "is kept for announcements")
        ChannelTestClient(user=User.objects.get(username="alice")).subscribe("rooms/lobby")
        response = self.client.post("/", {"nickname": "Alice", "room": "lobby"})
        self.assertContains(response, "belongs to a registered user")

    def test_a_registered_name_cannot_be_faked_with_invisible_or_compatibility_characters(self):
        """"alice" with a zero-width space, in full-width letters or with a soft hyphen is still alice's name."""
        for name in ("alice\u200b", "\u200dalice", "\uff41\uff4c\uff49\uff43\uff45", "al\u00adice", "bob\u2060", "sy\u200cstem"):
            with self.subTest(name=name):
                with self.assertRaises(SubscriptionRefused) as refused:
                    ChannelTestClient(auth={"name": name}).subscribe("rooms/lobby")
                self.assertEqual("name_taken", refused.exception.code)
        response = self.client.post("/", {"nickname": "alice\u200b", "room": "lobby"})
        self.assertContains(response, "belongs to a registered user")
        # Invisible characters are dropped from other names too: nobody shows up blank.
        with self.assertRaises(SubscriptionRefused) as refused:
            ChannelTestClient(auth={"name": "\u200b\u200b"}).subscribe("rooms/lobby")
        self.assertEqual("name_required", refused.exception.code)

    def test_look_alike_letters_do_not_pass_for_a_registered_name_or_system(self):
        """Cyrillic "а" in "аlice", Cyrillic "у" in "Sуstem", Greek "ο" in "bοb": the same names, refused (confusable skeletons)."""
        for name, why in (("\u0430lice", "belongs to a registered user"), ("S\u0443stem", "is kept for announcements"),
                          ("b\u03bfb", "belongs to a registered user")):
            with self.subTest(name=name):
                with self.assertRaises(SubscriptionRefused) as refused:
                    ChannelTestClient(auth={"name": name}).subscribe("rooms/lobby")
                self.assertEqual("name_taken", refused.exception.code)
                self.assertIn(why, refused.exception.message)
                self.assertContains(self.client.post("/", {"nickname": name, "room": "lobby"}), why)
        ChannelTestClient(auth={"name": "\u043c\u0430\u0448\u0430"}).subscribe("rooms/lobby")  # "маша": Cyrillic, nobody's
        ChannelTestClient(auth={"name": "\u0645\u062d\u0645\u062f"}).subscribe("rooms/lobby")  # "محمد"

    def test_a_live_nickname_is_one_persons_in_a_room(self):
        """A second person cannot take a name someone in the room has (any case, look-alikes); the same person's tabs can; another room can."""
        ann = ChannelTestClient(auth={"name": "Ann6"})
        ann.subscribe("rooms/lobby")
        for name in ("Ann6", "ann6", "\u0430nn6"):
            with self.subTest(name=name), self.assertRaises(SubscriptionRefused) as refused:
                ChannelTestClient(auth={"name": name}).subscribe("rooms/lobby")
            self.assertEqual("name_in_use", refused.exception.code)
            self.assertEqual('Someone in this room is already called "Ann6": pick another nickname.', refused.exception.message)
        ChannelTestClient(auth={"name": "Ann6"}).subscribe("rooms/elsewhere")
        alice = User.objects.get(username="alice")
        ChannelTestClient(user=alice).subscribe("rooms/lobby")
        ChannelTestClient(user=alice).subscribe("rooms/lobby")  # her second tab
        ann.subscriptions["rooms/lobby"].unsubscribe()
        ChannelTestClient(auth={"name": "ann6"}).subscribe("rooms/lobby")  # free again

    def test_messages_carry_their_persons_key(self):
        """A message names its sender's person (as presence does), the same for one user's tabs: the page marks "(you)" by it."""
        alice = User.objects.get(username="alice")
        first, second = ChannelTestClient(user=alice), ChannelTestClient(user=alice)
        room = first.subscribe("rooms/lobby")
        second.subscribe("rooms/lobby")
        room.emit("message", {"text": "hi"})
        second.assert_received("message", {"user": "alice", "person": f"user:{alice.pk}", "text": "hi", "at": ANY})
        page = self.client.get("/rooms/lobby/").content.decode()
        person = re.search(r'data-person="(guest:[0-9a-f]{16})"', page).group(1)
        self.assertEqual(person, re.search(r'data-person="([^"]+)"', self.client.get("/rooms/lobby/").content.decode()).group(1))

    def test_a_nickname_that_is_not_text_is_invalid(self):
        """auth={"name": ["alice"]} or a number is a payload of the wrong shape: refused with invalid, not shown as "['alice']"."""
        for name in (["alice"], {"n": 1}, 5, True):
            with self.subTest(name=name):
                with self.assertRaises(SubscriptionRefused) as refused:
                    ChannelTestClient(auth={"name": name}).subscribe("rooms/lobby")
                self.assertEqual("invalid", refused.exception.code)
                self.assertEqual("Your nickname must be text.", refused.exception.message)

    def test_slugs_are_lower_case_and_what_the_model_stores(self):
        """The join form and room pages take names in lower case; channels in another case or too long are refused."""
        self.assertRedirects(self.client.post("/", {"nickname": "eve", "room": "Lobby"}), "/rooms/lobby/")
        self.assertRedirects(self.client.get("/rooms/LoBBy/"), "/rooms/lobby/", status_code=301)
        self.assertContains(self.client.post("/", {"nickname": "eve", "room": "a" * 51}), "Ensure this value has at most 50 characters")
        self.assertContains(self.client.post("/", {"nickname": "eve", "room": "no spaces"}), "Room names are letters, digits")
        self.assertRedirects(self.client.post("/", {"nickname": "eve", "room": "snake_case-1"}), "/rooms/snake_case-1/")

    def test_the_room_field_says_what_it_accepts(self):
        """The label, the browser's check and the error name the same characters: letters, digits, hyphens and underscores."""
        rules = "letters, digits, hyphens and underscores"
        page = self.client.get("/").content.decode()
        self.assertIn(f"Room name ({rules})", page)
        self.assertRegex(page, r'<input[^>]*name="room"[^>]*pattern="\[a-zA-Z0-9_\\-\]\+"')
        error = self.client.post("/", {"nickname": "eve", "room": "a.b"})
        self.assertContains(error, f"Room names are {rules}.")
        for slug, code in (("Lobby", "room_name_not_lower_case"), ("x" * 194, "room_name_too_long")):
            with self.subTest(slug=slug[:10]), self.assertRaises(SubscriptionRefused) as refused:
                ChannelTestClient(auth={"name": "eve"}).subscribe(f"rooms/{slug}")
            self.assertEqual(code, refused.exception.code)
        self.assertEqual(["lobby", "members"], sorted(Room.objects.values_list("slug", flat=True)))

    def test_history_is_kept_in_the_database_by_default(self):
        """Without SOCKETIO_VIEWS_BACKEND the rooms' history is in the database: a fresh store (a restarted process) still has it."""
        from socketio_views.history import get_history
        from socketio_views.history_db import DatabaseHistory

        room = ChannelTestClient(auth={"name": "ann"}).subscribe("rooms/lobby")
        room.emit("message", {"text": "kept"})
        self.assertIsInstance(get_history(), DatabaseHistory)
        self.assertEqual("kept", DatabaseHistory().last("rooms/lobby", 1)[0].data["text"])

    def test_one_persons_tabs_share_a_person_in_presence(self):
        """Two subscriptions of one user carry the same person; another user's differ."""
        alice = User.objects.get(username="alice")
        first = ChannelTestClient(user=alice).subscribe("rooms/tabs")
        ChannelTestClient(user=alice).subscribe("rooms/tabs")
        ChannelTestClient(user=User.objects.get(username="bob")).subscribe("rooms/tabs")
        presences = first.received("presence_state")[0]["presences"] + first.received("presence_diff")[0]["joins"]
        persons = {}
        for entry in presences + first.received("presence_diff")[1]["joins"]:
            persons.setdefault(entry["user"], set()).add(entry["person"])
        self.assertEqual({"alice": {f"user:{alice.pk}"}, "bob": {f"user:{User.objects.get(username='bob').pk}"}}, persons)


class IdleRoomTests(ChannelTestCase):
    def make_room(self, slug, *, age, last_message=None):
        room = Room.objects.create(slug=slug)
        Room.objects.filter(pk=room.pk).update(
            created=timezone.now() - age, last_message=last_message and timezone.now() - last_message
        )

    def test_rooms_without_a_message_for_a_day_are_removed(self):
        """Visitors' rooms silent for a day go (the rooms page hears it); recent, occupied and built-in rooms stay."""
        self.make_room("silent", age=timedelta(days=3), last_message=timedelta(hours=25))
        self.make_room("never-used", age=timedelta(hours=25))
        self.make_room("chatty", age=timedelta(days=3), last_message=timedelta(hours=1))
        self.make_room("new", age=timedelta(hours=1))
        self.make_room("occupied", age=timedelta(days=3))
        Room.objects.filter(slug__in=["lobby", "members"]).update(created=timezone.now() - timedelta(days=30))
        ChannelTestClient(auth={"name": "ann"}).subscribe("rooms/occupied")
        rooms_page = ChannelTestClient()
        rooms_page.subscribe("rooms")

        out = StringIO()
        call_command("remove_idle_rooms", stdout=out)

        self.assertEqual("Removed 2 idle room(s): silent, never-used\n", out.getvalue())
        self.assertEqual(["chatty", "lobby", "members", "new", "occupied"], sorted(Room.objects.values_list("slug", flat=True)))
        rooms_page.assert_received("room_closed", {"channel": "rooms/silent"})

    def test_the_rooms_page_removes_idle_rooms_when_it_loads(self):
        """Loading the rooms page removes idle rooms, so it never lists them."""
        self.make_room("stale", age=timedelta(days=2))
        self.assertNotContains(self.client.get("/"), "#stale")
        self.assertFalse(Room.objects.filter(slug="stale").exists())

    def test_a_message_keeps_a_room_alive(self):
        """Sending a message records it on the room."""
        self.make_room("kept", age=timedelta(days=2))
        ChannelTestClient(auth={"name": "ann"}).subscribe("rooms/kept").emit("message", {"text": "still here"})
        self.assertEqual([], remove_idle_rooms())
        self.assertIsNotNone(Room.objects.get(slug="kept").last_message)


def relative_luminance(colour):
    """WCAG 2's relative luminance of ``#rrggbb``."""
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(foreground, background):
    """WCAG 2's contrast ratio of two colours."""
    lighter, darker = sorted((relative_luminance(foreground), relative_luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


class ContrastTests(SimpleTestCase):
    #: (text, background) pairs of chat.css, and the ratio WCAG AA asks of them.
    PAIRS = [
        ("ink", "surface", 4.5), ("ink", "bg", 4.5), ("ink", "own-bg", 4.5), ("ink", "system-bg", 4.5),
        ("muted", "surface", 4.5), ("muted", "bg", 4.5), ("muted", "own-bg", 4.5), ("muted", "system-bg", 4.5),
        ("accent", "surface", 4.5), ("accent", "bg", 4.5), ("accent", "own-bg", 4.5), ("accent-ink", "accent", 4.5),
        ("tag-ink", "tag-bg", 4.5), ("ok", "surface", 4.5), ("down", "surface", 4.5), ("down", "#fdecea", 4.5),
        ("ink", "flash-bg", 4.5), ("accent-ink", "muted", 4.5),  # the last: a Retry button disabled during the countdown
        # Borders of controls and the focus ring: 3:1 (WCAG 1.4.11).
        ("control-line", "surface", 3), ("accent", "surface", 3),
    ]

    def test_colours_meet_wcag_aa(self):
        """Every text colour of the demo is at least 4.5:1 on its backgrounds, and control borders 3:1."""
        css = (Path(__file__).parent / "static" / "chat" / "chat.css").read_text()
        palette = dict(re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{6})", css))
        failing = []
        for foreground, background, needed in self.PAIRS:
            ratio = contrast(palette.get(foreground, foreground), palette.get(background, background))
            if ratio < needed:
                failing.append(f"{foreground} on {background}: {ratio:.2f} < {needed}")
        self.assertEqual([], failing)
        self.assertGreaterEqual(len(palette), 15)

    def test_no_text_is_faded_below_aa(self):
        """Text made translucent (presence greyed while offline) still reaches 4.5:1: ink at that opacity on white."""
        css = (Path(__file__).parent / "static" / "chat" / "chat.css").read_text()
        palette = dict(re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{6})", css))
        ink = [int(palette["ink"][i:i + 2], 16) for i in (1, 3, 5)]
        faded = []
        for opacity in map(float, re.findall(r"opacity:\s*([\d.]+)", css)):
            blended = "#" + "".join(f"{round(opacity * c + (1 - opacity) * 255):02x}" for c in ink)
            if contrast(blended, palette["surface"]) < 4.5:
                faded.append(f"opacity {opacity}: {contrast(blended, palette['surface']):.2f}")
        self.assertEqual([], faded)
