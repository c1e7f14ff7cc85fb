"""Channel history and connection state recovery, through the in-memory test client."""
import os
import uuid

import pytest
from django.contrib.auth.models import User

from socketio_views import ChannelRouter, ChannelView, recovery
from socketio_views.history import MemoryHistory, Policy, RedisHistory, get_history, parse_offset
from socketio_views.mixins import PresenceMixin
from socketio_views.recovery import HISTORY_LOST, OTHER_USER, UNKNOWN_SESSION, SessionKeeper
from socketio_views.testing import ChannelTestClient

from .ci import require


class Chat(ChannelView):
    history = 5

    def on_subscribe(self, room):
        self.snapshot_sent = not self.recovered
        if not self.recovered:
            self.send({"recovery_failure": self.recovery_failure}, event="snapshot")

    def on_message(self, data, room):
        self.broadcast(data)

    def on_quiet(self, data, room):
        self.broadcast(data, include_self=False)


class Newcomers(Chat):
    send_history_on_subscribe = 3


class Present(PresenceMixin, Chat):
    pass


@pytest.fixture
def router():
    router = ChannelRouter()
    router.register("chat/<str:room>", Chat)
    router.register("new/<str:room>", Newcomers)
    router.register("present/<str:room>", Present)
    return router


@pytest.fixture(autouse=True)
def mounted(router, monkeypatch):
    """Broadcasts from outside a view find the channel's history policy through the mounted routers."""
    monkeypatch.setattr("socketio_views.mounts.mounted_routers", lambda urlconf=None: [("socket.io/", router)])


def texts(subscription, event="message"):
    return [m["n"] for m in subscription.received(event)]


def redis_store():
    """A :class:`RedisHistory` under a prefix of its own; skipped (failed in CI) if Redis is not reachable."""
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    store = RedisHistory(url, prefix=f"svt-{uuid.uuid4().hex[:8]}")
    try:
        store.redis.ping()
    except Exception:
        require(False, f"Redis is not reachable at {url}")
    return store


@pytest.fixture(params=["memory", "redis"])
def keepers(request, monkeypatch):
    """``(store, a, b)``: the session keepers of two processes that share one history store (memory, then Redis)."""
    store = MemoryHistory() if request.param == "memory" else redis_store()
    monkeypatch.setattr(recovery, "get_history", lambda: store)
    a, b = SessionKeeper(), SessionKeeper()
    yield store, a, b
    a.close()
    b.close()
    if request.param == "redis":
        for key in store.redis.scan_iter(f"{store.prefix}:*"):
            store.redis.delete(key)
        store.close()


def test_broadcasts_carry_increasing_offsets(router):
    """Every broadcast on a channel with history has an offset, increasing within the channel."""
    client = ChannelTestClient(router=router)
    room = client.subscribe("chat/a")
    for n in range(3):
        room.emit("message", {"n": n})
    offsets = [r.offset for r in client.inbox if r.event == "message"]
    assert len(offsets) == 3 and all(offsets)
    assert offsets == sorted(offsets, key=parse_offset)
    assert room.last_offset == offsets[-1]


def test_a_dropped_subscriber_recovers_what_it_missed_exactly_once_three_times(router):
    """After each of three drops, the client recovers every message sent meanwhile, in order, then live ones."""
    alice, bob = ChannelTestClient(router=router), ChannelTestClient(router=router)
    bob_room = bob.subscribe("chat/a")
    alice.subscribe("chat/a")
    sent = 0
    for _round in range(3):
        alice.drop()
        for _ in range(4):
            bob_room.emit("message", {"n": sent})
            sent += 1
        (room,) = alice.reconnect()
        assert room.recovered
        bob_room.emit("message", {"n": sent})
        sent += 1
    assert texts(room) == list(range(sent))
    assert room.received("snapshot") == [{"recovery_failure": None}]  # only the first subscription


def test_recovery_keeps_the_pid_and_a_fresh_subscription_gets_a_new_one(router):
    """A recovered subscription keeps its pid; a refused recovery is a fresh subscription with a new pid."""
    client = ChannelTestClient(router=router)
    first = client.subscribe("chat/pid")
    client.drop()
    (second,) = client.reconnect()
    assert second.recovered and second.pid == first.pid
    fresh = ChannelTestClient(router=router).subscribe("chat/pid")
    assert not fresh.recovered and fresh.pid != first.pid


def test_a_client_that_received_nothing_recovers_from_its_subscription(router):
    """No offset yet (nothing received before the drop): recovery starts where the subscription started."""
    alice, bob = ChannelTestClient(router=router), ChannelTestClient(router=router)
    alice.subscribe("chat/none")
    bob_room = bob.subscribe("chat/none")
    alice.drop()
    bob_room.emit("message", {"n": 1})
    (room,) = alice.reconnect()
    assert room.recovered and texts(room) == [1]


def test_include_self_false_broadcasts_are_not_replayed_to_their_sender(router):
    """What a subscriber was excluded from is not replayed to it on recovery."""
    alice, bob = ChannelTestClient(router=router), ChannelTestClient(router=router)
    alice_room = alice.subscribe("chat/quiet")
    bob_room = bob.subscribe("chat/quiet")
    alice_room.emit("message", {"n": 0})
    alice.drop()
    bob.drop()
    (alice_room,) = alice.reconnect()
    (bob_room,) = bob.reconnect()
    assert texts(bob_room) == [0]
    alice_room.emit("quiet", {"n": 1})
    alice.drop()
    (alice_room,) = alice.reconnect()
    assert alice_room.recovered and texts(alice_room) == [0]
    assert texts(bob_room) == [0, 1]


@pytest.mark.parametrize(
    "tamper, failure",
    [
        (lambda room: setattr(room, "pid", "unknown"), UNKNOWN_SESSION),
        (lambda room: get_history().sessions.clear(), UNKNOWN_SESSION),
        (lambda room: None, HISTORY_LOST),
    ],
)
def test_refused_recoveries_are_fresh_subscriptions(router, tamper, failure):
    """Unknown or expired pid, or an offset older than the history: recovered is false and the view knows why."""
    alice, bob = ChannelTestClient(router=router), ChannelTestClient(router=router)
    alice_room = alice.subscribe("chat/lost")
    bob_room = bob.subscribe("chat/lost")
    bob_room.emit("message", {"n": 0})
    alice.drop()
    tamper(alice.dropped[0])
    if failure == HISTORY_LOST:
        for n in range(1, 8):  # history = 5: the entry after alice's offset is gone
            bob_room.emit("message", {"n": n})
    (room,) = alice.reconnect()
    assert not room.recovered
    assert room.received("snapshot")[-1] == {"recovery_failure": failure}
    assert texts(room) == [0]  # nothing replayed


@pytest.mark.django_db
def test_another_users_session_is_never_recovered(router):
    """A pid presented by another user is refused (other_user) and nothing of that session is replayed."""
    alice_user, mallory_user = User.objects.create_user("alice"), User.objects.create_user("mallory")
    alice = ChannelTestClient(router=router, user=alice_user)
    alice_room = alice.subscribe("chat/private")
    alice.drop()
    ChannelTestClient(router=router).subscribe("chat/private").emit("message", {"n": 1})
    mallory = ChannelTestClient(router=router, user=mallory_user)
    room = mallory.subscribe("chat/private", recover=alice_room)
    assert not room.recovered
    assert room.received("snapshot") == [{"recovery_failure": OTHER_USER}]
    assert texts(room) == []


def test_newcomers_receive_the_last_messages_with_offsets(router):
    """send_history_on_subscribe: a new subscriber receives the last N broadcasts, each with its offset."""
    bob = ChannelTestClient(router=router).subscribe("new/a")
    for n in range(5):
        bob.emit("message", {"n": n})
    client = ChannelTestClient(router=router)
    room = client.subscribe("new/a")
    assert texts(room) == [2, 3, 4]
    assert all(r.offset for r in client.inbox if r.event == "message")
    bob.emit("message", {"n": 5})
    client.drop()
    bob.emit("message", {"n": 6})
    (room,) = client.reconnect()
    assert room.recovered and texts(room) == [2, 3, 4, 5, 6]


def test_module_broadcasts_are_kept_too(router):
    """socketio_views.broadcast() on a channel with history stores and numbers the message like self.broadcast()."""
    import socketio_views

    client = ChannelTestClient(router=router)
    client.subscribe("chat/module")
    client.drop()
    socketio_views.broadcast("chat/module", {"n": 7})
    (room,) = client.reconnect()
    assert room.recovered and texts(room) == [7]


def test_presence_events_are_not_kept(router):
    """presence_diff is live state, not history: it is neither numbered nor replayed."""
    watcher = ChannelTestClient(router=router)
    watcher.subscribe("present/a")
    watcher.drop()
    ChannelTestClient(router=router).subscribe("present/a")
    (room,) = watcher.reconnect()
    assert room.recovered
    assert [r for r in watcher.inbox if r.event == "presence_diff" and r.offset] == []
    assert get_history().count("present/a") == 0


def test_a_refused_subscription_keeps_nothing_it_sent(router):
    """Broadcasts made by an on_subscribe that then refuses are neither delivered nor kept."""

    class Refusing(ChannelView):
        history = 5

        def on_subscribe(self):
            self.broadcast({"n": "ghost"})
            return False

    router.register("refusing", Refusing)
    with pytest.raises(Exception):
        ChannelTestClient(router=router).subscribe("refusing")
    assert get_history().count("refusing") == 0


def test_memory_history_is_bounded_and_expires():
    """10,000 broadcasts keep 100 entries; a channel silent for its ttl is forgotten."""
    now = [1_000.0]
    store = MemoryHistory(clock=lambda: now[0])
    policy = Policy(size=100, ttl=60, window=120)
    for n in range(10_000):
        store.append("c", policy, "message", {"n": n})
    assert store.count("c") == 100
    assert store.last("c", 1)[0].data == {"n": 9_999}
    now[0] += 61
    store.append("other", policy, "message", {})
    assert store.count("c") == 0 and "c" not in store.channels


def test_memory_history_keeps_the_last_ended_sessions_only():
    """Past max_sessions sessions of ended subscriptions the first ended is forgotten; live ones and a recovered
    one do not count, and an expired one leaves no trace."""
    now = [1_000.0]
    store = MemoryHistory(clock=lambda: now[0], max_sessions=2)
    for pid in "abcd":
        store.save_session(pid, {"sid": pid}, 120)  # live: all kept, however many
    store.extend_session("a", {"sid": "a"}, 120)  # a, then b, then c end
    store.extend_session("b", {"sid": "b"}, 120)
    store.save_session("b", {"sid": "b2"}, 120)  # b is recovered: live again
    store.extend_session("c", {"sid": "c"}, 120)
    assert [p for p in "abcd" if store.load_session(p)] == ["a", "b", "c", "d"]
    store.extend_session("d", {"sid": "d"}, 120)  # a, c and d ended: a, ended first, is forgotten
    assert [p for p in "abcd" if store.load_session(p)] == ["b", "c", "d"]
    assert list(store.ended) == ["c", "d"]
    now[0] += 121
    store.append("c", Policy(size=1, ttl=60, window=120), "message", {})
    assert store.sessions == {} and not store.ended


def test_memory_history_takes_its_bound_from_the_settings(settings):
    """MAX_RECOVERY_SESSIONS is the memory store's bound (10,000 by default)."""
    assert MemoryHistory().max_sessions == 10_000
    settings.SOCKETIO_VIEWS = {"MAX_RECOVERY_SESSIONS": None}
    assert MemoryHistory().max_sessions is None


def test_redis_history_is_bounded_expires_and_replays(settings):
    """10,000 broadcasts into history = 100 leave about 100 entries in Redis; a silent channel expires."""
    import time

    store = redis_store()
    try:
        policy = Policy(size=100, ttl=2, window=120)
        pipe_offsets = [store.append("c", policy, "message", {"n": n}) for n in range(10_000)]
        assert 100 <= store.count("c") <= 200  # XADD MAXLEN ~ trims in blocks
        assert [e.data["n"] for e in store.after("c", pipe_offsets[-3])] == [9_998, 9_999]
        assert store.after("c", pipe_offsets[0]) is None  # fallen out of the history
        assert store.last_offset("c") == pipe_offsets[-1]
        assert 0 < store.redis.ttl(store._key("c")) <= 2
        time.sleep(2.5)
        assert store.count("c") == 0 and store.after("c", pipe_offsets[-1]) is None
    finally:
        store.redis.delete(store._key("c"))
        store.close()


def test_a_late_teardown_of_the_old_subscription_leaves_the_recovered_session_alone(router):
    """The server may notice a dead transport after the client recovered: the old teardown must not end the new session."""
    client = ChannelTestClient(router=router)
    old = client.subscribe("chat/late")
    old_view = old.view
    client.dropped = [old]  # the client reconnects before the server noticed the old transport died
    client.subscriptions.pop("chat/late")
    (new,) = client.reconnect()
    assert new.recovered
    from socketio_views import dispatch

    dispatch.end_subscription(old_view, "ping timeout")
    assert recovery._keeper.get().live[new.pid][0]["sid"] == new.sid


def test_a_late_teardown_on_another_process_leaves_the_recovered_session_alone(keepers):
    """A process that ends a subscription (its drain, or a dead transport it noticed late) after the client recovered on another process does not put the old session back."""
    store, a, b = keepers
    a.keep("p1", {"channel": "c", "user": None, "sid": "on-a", "offset": "1-0"}, 120)
    b.keep("p1", {"channel": "c", "user": None, "sid": "on-b", "offset": "2-0"}, 120)  # recovered on B
    a.release("p1", "on-a", 120)
    assert "on-b" == store.load_session("p1")["sid"]
    b.release("p1", "on-b", 120)  # B's own teardown keeps it for the recovery window
    assert "on-b" == store.load_session("p1")["sid"]
    a.keep("p2", {"channel": "c", "user": None, "sid": "gone", "offset": "1-0"}, 120)
    store.drop_session("p2")
    a.release("p2", "gone", 120)  # ended meanwhile (its client left): not brought back
    assert store.load_session("p2") is None


def test_the_keeper_of_another_process_does_not_put_a_recovered_session_back(keepers):
    """A process whose subscription has not ended yet (its transport died unnoticed) stops renewing the session once another process recovered it, and renews its other sessions."""
    from .waiting import wait_until

    store, a, b = keepers
    # A renews every second (a 3 s window), B not before 10 s: what is kept after A's renewal is A's doing.
    a.keep("p1", {"channel": "c", "user": None, "sid": "on-a", "offset": "1-0"}, 3)
    a.keep("p2", {"channel": "c", "user": None, "sid": "still-on-a", "offset": "1-0"}, 3)
    b.keep("p1", {"channel": "c", "user": None, "sid": "on-b", "offset": "2-0"}, 30)  # recovered on B
    store.drop_session("p2")  # lost meanwhile (an outage): its live subscription brings it back
    wait_until(lambda: "p1" not in a.live, timeout=5, message=lambda: f"A still renews {a.live}")
    assert {"channel": "c", "user": None, "sid": "on-b", "offset": "2-0"} == store.load_session("p1")
    wait_until(lambda: store.load_session("p2"), timeout=5)
    assert "still-on-a" == store.load_session("p2")["sid"]
    a.release("p1", "on-a", 3)  # A notices the dead transport at last
    assert "on-b" == store.load_session("p1")["sid"]


@pytest.mark.django_db
def test_recovery_runs_the_access_checks_again(router):
    """A pid does not bypass the mixins: the same pid without the login is refused with login_required."""
    from socketio_views.mixins import LoginRequiredMixin
    from socketio_views.testing import SubscriptionRefused

    class MembersChat(LoginRequiredMixin, Chat):
        pass

    router.register("members-chat/<str:room>", MembersChat)
    alice = ChannelTestClient(router=router, user=User.objects.create_user("alice"))
    room = alice.subscribe("members-chat/a")
    alice.drop()
    with pytest.raises(SubscriptionRefused) as refused:
        ChannelTestClient(router=router).subscribe("members-chat/a", recover=room)
    assert refused.value.code == "login_required"


@pytest.mark.django_db
def test_recovery_by_the_same_user_runs_the_access_checks_and_on_subscribe_again(router):
    """A pid does not outlive the access it was given: the same user, refused since, is refused on recovery; on_subscribe runs on every recovery."""
    from socketio_views.mixins import UserPassesTestMixin
    from socketio_views.testing import SubscriptionRefused

    allowed = {"alice"}
    subscribed = []

    class StaffChat(UserPassesTestMixin, Chat):
        def test_func(self):
            return self.request.user.get_username() in allowed

        def on_subscribe(self, room):
            subscribed.append(self.recovered)
            super().on_subscribe(room)

    router.register("staff-chat/<str:room>", StaffChat)
    alice = ChannelTestClient(router=router, user=User.objects.create_user("alice"))
    alice.subscribe("staff-chat/a")
    alice.drop()
    (room,) = alice.reconnect()
    assert room.recovered
    assert [False, True] == subscribed
    alice.drop()
    allowed.clear()  # alice loses the access, her pid is still valid
    with pytest.raises(SubscriptionRefused) as refused:
        alice.reconnect()
    assert "permission_denied" == refused.value.code
    assert [False, True] == subscribed


@pytest.mark.django_db
def test_a_valid_pid_from_a_foreign_origin_is_refused_and_the_session_kept(router):
    """The origin check runs before recovery: a page of another origin presenting alice's pid gets origin_not_allowed and nothing replayed; alice recovers afterwards."""
    from socketio_views.testing import SubscriptionRefused

    user = User.objects.create_user("alice")
    alice = ChannelTestClient(router=router, user=user)
    room = alice.subscribe("chat/origin")
    alice.drop()
    ChannelTestClient(router=router).subscribe("chat/origin").emit("message", {"n": 1})  # missed by alice
    evil = ChannelTestClient(router=router, user=user, headers={"Origin": "https://evil.example"})
    with pytest.raises(SubscriptionRefused) as refused:
        evil.subscribe("chat/origin", recover=room)
    assert "origin_not_allowed" == refused.value.code
    assert [] == evil.received("message")
    (again,) = alice.reconnect()
    assert again.recovered
    assert [1] == texts(again)


def test_the_policy_cache_keeps_the_last_names_used_only():
    """policy_for() and remember_policy() remember at most POLICY_CACHE_SIZE channels, the most recently used."""
    from socketio_views import history

    for index in range(history.POLICY_CACHE_SIZE + 500):
        history.policy_for(f"rooms/cache-{index}")
        history.remember_policy(f"history/cache-{index}", None)
    policies = history._policies.get()
    assert history.POLICY_CACHE_SIZE == len(policies)
    assert (True, None) == policies.get(f"history/cache-{history.POLICY_CACHE_SIZE + 499}")
    assert (False, None) == policies.get("rooms/cache-0")


@pytest.mark.parametrize(
    "offset",
    ["1" * 21 + "-0", "1-" + "9" * 25, "18446744073709551616-0", "0-18446744073709551616", "١٢-0", "12-²", "-1-0", "1-0-0"],
)
def test_offsets_redis_would_reject_are_not_offsets(offset):
    """An offset a client made up that Redis would refuse (too long, past 64 bits, non-ASCII digits) is no offset:
    the recovery fails with invalid_offset, not with a Redis error counted as an outage."""
    assert parse_offset(offset) is None


def test_the_largest_redis_offset_is_an_offset():
    """18446744073709551615-18446744073709551615, Redis's largest stream id, is an offset."""
    assert (2**64 - 1, 2**64 - 1) == parse_offset(f"{2**64 - 1}-{2**64 - 1}")
