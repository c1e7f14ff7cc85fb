"""The demo's channels, tested with socketio_views' in-memory test client.

Run them with ``python -m pytest`` (or ``python manage.py test chat``) from ``demo/``.
"""
from django.contrib.auth.models import User

from socketio_views.testing import ChannelTestCase, ChannelTestClient, SubscriptionRefused


class RoomChannelTests(ChannelTestCase):
    def test_message_is_acknowledged_and_reaches_everyone(self):
        """A message is acked with {"ok": true} and every subscriber, sender included, gets user and text."""
        alice = ChannelTestClient(auth={"name": "alice"})
        bob = ChannelTestClient(auth={"name": "bob"})
        room = alice.subscribe("rooms/lobby")
        bob.subscribe("rooms/lobby")

        self.assertEqual(room.emit("message", {"text": "hello"}), {"ok": True})
        alice.assert_received("message", {"user": "alice", "text": "hello"})
        bob.assert_received("message", {"user": "alice", "text": "hello"})

    def test_text_is_trimmed_and_capped(self):
        """Messages are stripped and cut at 500 characters."""
        alice = ChannelTestClient(auth={"name": "alice"})
        room = alice.subscribe("rooms/long")

        room.emit("message", {"text": "  " + "x" * 600 + "  "})
        room.assert_received("message", {"user": "alice", "text": "x" * 500})

    def test_empty_message_is_refused_and_not_broadcast(self):
        """An empty text is answered with code invalid and nobody receives a message."""
        alice = ChannelTestClient(auth={"name": "alice"})
        room = alice.subscribe("rooms/empty")

        reply = room.emit("message", {"text": "   "})
        self.assertEqual(reply["error"]["code"], "invalid")
        room.assert_not_received("message")

    def test_nickname_is_required(self):
        """Anonymous subscribers without a nickname are refused with code name_required."""
        with self.assertRaises(SubscriptionRefused) as refused:
            ChannelTestClient().subscribe("rooms/lobby")
        self.assertEqual(refused.exception.code, "name_required")

    def test_logged_in_user_chats_under_their_username(self):
        """A logged-in user's username is the nickname, whatever auth says."""
        user = User.objects.create_user("eve")
        room = ChannelTestClient(user=user, auth={"name": "mallory"}).subscribe("rooms/auth")

        room.emit("message", {"text": "hi"})
        room.assert_received("message", {"user": "eve", "text": "hi"})

    def test_long_nickname_is_cut(self):
        """Nicknames are cut at 30 characters."""
        room = ChannelTestClient(auth={"name": "n" * 40}).subscribe("rooms/names")

        room.assert_received("joined", {"user": "n" * 30})

    def test_join_typing_and_leave_notices(self):
        """Others see joined, typing (never the typist) and left."""
        alice = ChannelTestClient(auth={"name": "alice"})
        bob = ChannelTestClient(auth={"name": "bob"})
        alice.subscribe("rooms/notices")
        bob_room = bob.subscribe("rooms/notices")

        alice.assert_received("joined", {"user": "bob"})
        bob_room.emit("typing", {})
        alice.assert_received("typing", {"user": "bob"})
        bob.assert_not_received("typing")
        bob.disconnect()
        alice.assert_received("left", {"user": "bob"})
