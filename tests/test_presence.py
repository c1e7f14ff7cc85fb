"""Presence and broadcast_on_commit through the in-memory test client."""
import pytest
from django.db import transaction

import socketio_views
from socketio_views.presence import MemoryPresence, get_presence
from socketio_views.testing import ChannelTestClient


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


def test_refused_subscriptions_are_never_present():
    """Presence records only accepted subscriptions (an exception in on_subscribe records nothing)."""
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
