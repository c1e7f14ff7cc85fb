"""Presence and broadcast_on_commit through the in-memory test client."""
import pytest
from django.db import transaction

import socketio_views
from socketio_views.presence import MemoryPresence, get_presence
from socketio_views.testing import ChannelTestClient, SubscriptionRefused


def test_presence_state_and_diffs():
    """A newcomer gets presence_state; the others get presence_diff joins and leaves."""
    alice = ChannelTestClient(auth={"name": "alice"})
    bob = ChannelTestClient(auth={"name": "bob"})
    alice_room = alice.subscribe("presence/lobby")
    bob_room = bob.subscribe("presence/lobby")

    assert alice_room.received("presence_state") == [{"presences": [{"sid": alice_room.sid, "user": "alice"}]}]
    assert bob_room.received("presence_state") == [
        {"presences": [{"sid": alice_room.sid, "user": "alice"}, {"sid": bob_room.sid, "user": "bob"}]}
    ]
    alice_room.assert_received("presence_diff", {"joins": [{"sid": bob_room.sid, "user": "bob"}], "leaves": []})
    bob_room.assert_not_received("presence_diff")
    assert alice_room.emit("who") == [{"sid": alice_room.sid, "user": "alice"}, {"sid": bob_room.sid, "user": "bob"}]

    bob.disconnect()
    alice_room.assert_received("presence_diff", {"joins": [], "leaves": [{"sid": bob_room.sid, "user": "bob"}]})
    assert alice_room.emit("who") == [{"sid": alice_room.sid, "user": "alice"}]
    assert get_presence().count("presence/lobby") == 1


def test_memory_presence_leave_returns_the_entry_once():
    """MemoryPresence.leave() returns the entry of a present sid, None for an absent one, and empties the channel."""
    store = MemoryPresence()
    store.join("c", "s1", {"user": "a"})
    assert store.leave("c", "missing") is None
    assert store.leave("c", "s1") == {"sid": "s1", "user": "a"}
    assert store.list("c") == [] and store.count("c") == 0


@pytest.mark.django_db
def test_view_broadcast_on_commit_waits_for_the_commit(django_capture_on_commit_callbacks):
    """self.broadcast_on_commit sends after commit, and never for a rolled-back transaction."""
    client = ChannelTestClient(auth={"name": "alice"})
    room = client.subscribe("presence/commit")

    with django_capture_on_commit_callbacks(execute=True):
        assert room.emit("save", {"n": 1, "fail": True}) == {"ok": False}
        assert room.emit("save", {"n": 2}) == {"ok": True}
        room.assert_not_received("saved")
    assert room.received("saved") == [{"saved": 2}]


@pytest.mark.django_db
def test_module_broadcast_on_commit(django_capture_on_commit_callbacks):
    """socketio_views.broadcast_on_commit waits for the commit of the caller's transaction."""
    room = ChannelTestClient(auth={"name": "x"}).subscribe("presence/module")
    with django_capture_on_commit_callbacks() as callbacks:
        with transaction.atomic():
            socketio_views.broadcast_on_commit("presence/module", {"n": 1}, event="news")
        room.assert_not_received("news")
    assert len(callbacks) == 1
    callbacks[0]()
    room.assert_received("news", {"n": 1})


def test_module_send_reaches_one_test_subscription():
    """socketio_views.send(sid) in code under test reaches that test subscription only."""
    alice = ChannelTestClient(auth={"name": "alice"})
    bob = ChannelTestClient(auth={"name": "bob"})
    room = alice.subscribe("presence/send")
    bob.subscribe("presence/send")

    socketio_views.send(room.sid, {"psst": True}, event="direct")
    alice.assert_received("direct", {"psst": True})
    bob.assert_not_received("direct")


def test_a_subscription_refused_by_on_subscribe_is_never_present():
    """Presence joins after on_subscribe accepted: a refused subscriber is never listed nor announced."""
    from socketio_views import ChannelRouter, ChannelView
    from socketio_views.mixins import PresenceMixin

    class Picky(PresenceMixin, ChannelView):
        def on_subscribe(self):
            return not self.auth.get("refuse")

    router = ChannelRouter()
    router.register("picky", Picky)
    member = ChannelTestClient(router=router).subscribe("picky")
    with pytest.raises(SubscriptionRefused):
        ChannelTestClient(router=router, auth={"refuse": True}).subscribe("picky")
    assert get_presence().count("picky") == 1
    assert [p["sid"] for p in get_presence().list("picky")] == [member.sid]
    member.assert_not_received("presence_diff")

