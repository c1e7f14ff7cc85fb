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



def presence_messages_sent(url):
    """Presence events the server at ``url`` delivered, from its metrics."""
    import requests

    from .test_metrics import samples

    text = requests.get(url + "/metrics/", headers={"Authorization": "Bearer hub-token"}, timeout=5).text
    return sum(
        value
        for (name, labels), value in samples(text).items()
        if name == "socketio_views_messages_sent_total" and dict(labels).get("event", "").startswith("presence_")
    )


def crowd_joins_and_leaves(env, joiners=150, staying=30):
    """A member watches ``joiners`` raw connections join one presence channel, then all but ``staying`` leave.

    Returns (presence events the member received, presence events the
    server sent in all, the member's final list of names, the witness's
    slowest round trip).
    """
    import uuid

    from socketio_views.testing import LiveServer

    from .test_limits import Witness
    from .waiting import wait_until
    from .wire import WireClient, raw_socket

    channel = f"presence/crowd-{uuid.uuid4().hex[:6]}"
    with LiveServer(settings_module="tests.settings_hub", env=env) as server:
        member = WireClient(server.url).connect(channel, auth={"name": "member"})
        witness = Witness(server.url)
        sockets = []
        try:
            for n in range(joiners):
                ws = raw_socket(server.url)
                ws.send(f'40/{channel},{{"name": "u{n}"}}')
                sockets.append(ws)
            wait_until(lambda: len(member_names(member, channel)) == joiners + 1, timeout=30, message="not every join reached the member")
            for ws in sockets[staying:]:
                ws.close()
            expected = {"member"} | {f"u{n}" for n in range(staying)}
            wait_until(lambda: member_names(member, channel) == expected, timeout=30, message=lambda: f"the member sees {member_names(member, channel)}")
            received = len([1 for ch, event, _ in member.events if event.startswith("presence_")])
            sent = presence_messages_sent(server.url)
            names = member_names(member, channel)
        finally:
            worst = witness.stop()
            for ws in sockets[:staying]:
                ws.close()
            member.close()
        return received, sent, names, worst


def member_names(client, channel):
    """The names a client knows to be present on ``channel``, from the presence events it received in order.

    Past the list limit a ``presence_count`` only says how many: the names
    are then those of the last list, and the count is checked separately.
    """
    present = {}
    for ch, event, data in client.events:
        if ch != channel:
            continue
        if event == "presence_state":
            present = {entry["sid"]: entry["user"] for entry in data["presences"]}
        elif event == "presence_diff":
            for entry in data["joins"]:
                present[entry["sid"]] = entry["user"]
            for entry in data["leaves"]:
                present.pop(entry["sid"], None)
        elif event == "presence_count":
            present = {f"#{n}": f"#{n}" for n in range(data["count"])}
    return set(present.values())


@pytest.mark.django_db(transaction=True)
def test_a_crowd_joining_costs_a_message_per_tick_and_ends_exact():
    """150 joins then 120 leaves on a real server: the member ends with the exact list, having received far fewer messages than one per join."""
    received, sent, names, worst = crowd_joins_and_leaves({})
    received_each, sent_each, names_each, worst_each = crowd_joins_and_leaves({"SOCKETIO_VIEWS_TEST_PRESENCE_INTERVAL": "0"})
    print(
        f"coalesced: member received {received}, server sent {sent:.0f}, witness worst {worst * 1000:.0f} ms; "
        f"one per join: member received {received_each}, server sent {sent_each:.0f}, witness worst {worst_each * 1000:.0f} ms"
    )
    assert names == names_each == {"member"} | {f"u{n}" for n in range(30)}
    assert received_each > 250
    assert received < 50
    assert sent * 5 < sent_each


class RecordingHub:
    """A hub that records what PresenceTicks sends: (event, data, to, skip_sid)."""

    def __init__(self):
        self.sent = []

    def emit(self, event, data, *, channel, to=None, skip_sid=None, history=True):
        self.sent.append((event, data, to, skip_sid))


class FakeView:
    def __init__(self, hub, channel, sid):
        self.hub, self.channel, self.sid = hub, channel, sid

    def send(self, data, event):
        self.hub.emit(event, data, channel=self.channel, to=self.sid)


def test_a_tick_sends_one_diff_what_newcomers_missed_and_counts_past_the_limit(monkeypatch, settings):
    """Joins and leaves of one tick make one diff for those already there, and one per newcomer of what followed its state; past the limit a count; back under it, the state to all."""
    from socketio_views.presence import PresenceTicks, _Pending

    settings.SOCKETIO_VIEWS = {"PRESENCE_LIST_LIMIT": 3}
    monkeypatch.setattr(PresenceTicks, "coalescing", staticmethod(lambda: True))
    ticks, hub, store = PresenceTicks(), RecordingHub(), get_presence()
    # No timer: the test calls tick() itself.
    monkeypatch.setattr(ticks, "_pending", lambda view: ticks.pending.setdefault(view.channel, _Pending(view.hub)))

    def join(sid):
        store.join("room", sid, {"user": sid})
        ticks.joined(FakeView(hub, "room", sid), {"sid": sid, "user": sid})

    def leave(sid):
        ticks.left(FakeView(hub, "room", sid), store.leave("room", sid))

    def entries(*sids):
        return [{"sid": sid, "user": sid} for sid in sids]

    join("a")
    ticks.tick()
    assert [
        ("presence_state", {"presences": entries("a")}, "a", None),
        ("presence_diff", {"joins": entries("a"), "leaves": []}, None, ["a"]),
    ] == hub.sent

    hub.sent.clear()
    join("b")
    join("c")
    leave("a")
    join("d")
    leave("d")  # came and went within the tick
    ticks.tick()
    assert [
        ("presence_state", {"presences": entries("a", "b")}, "b", None),
        ("presence_state", {"presences": entries("a", "b", "c")}, "c", None),
        ("presence_state", {"presences": entries("b", "c", "d")}, "d", None),
        ("presence_diff", {"joins": entries("b", "c"), "leaves": entries("a")}, None, ["b", "c"]),
        ("presence_diff", {"joins": entries("c", "d"), "leaves": entries("a", "d")}, "b", None),
        ("presence_diff", {"joins": entries("d"), "leaves": entries("a", "d")}, "c", None),
    ] == hub.sent

    hub.sent.clear()
    join("e")
    join("f")
    ticks.tick()
    assert [
        ("presence_state", {"presences": entries("b", "c", "e")}, "e", None),
        ("presence_count", {"count": 4}, "f", None),
        ("presence_count", {"count": 4}, None, None),
    ] == hub.sent

    hub.sent.clear()
    leave("e")
    ticks.tick()
    assert [("presence_state", {"presences": entries("b", "c", "f")}, None, None)] == hub.sent
