"""The history store in the Django database (socketio_views.history_db), on PostgreSQL and SQLite."""
import threading

import pytest
from django.db import connections

from socketio_views import ChannelRouter, ChannelView
from socketio_views.history import START, Policy, get_history, make_store, parse_offset
from socketio_views.history_db import DatabaseHistory, alias_of
from socketio_views.models import HistoryEntry, HistoryStream, RecoverySession
from socketio_views.testing import ChannelTestClient

DATABASES = ["default", "sqlite"]  # PostgreSQL (tests/settings.py) and SQLite


@pytest.fixture(params=DATABASES)
def using(request):
    return request.param


@pytest.fixture
def store(using):
    now = [1_000.0]
    store = DatabaseHistory(using, clock=lambda: now[0])
    store.now = now
    return store


def numbers(entries):
    return [e.data["n"] for e in entries]


@pytest.mark.parametrize(
    ("url", "alias"),
    [("django", "default"), ("django://", "default"), ("django://sqlite", "sqlite"), ("redis://x", None), (None, None)],
)
def test_history_url_names_a_database(url, alias):
    """ "django" names the default database, "django://<alias>" another; other URLs name none."""
    assert alias == alias_of(url)


def test_the_setting_chooses_the_database_store(settings):
    """HISTORY_URL = "django://sqlite" makes the process's store a DatabaseHistory on that database."""
    settings.SOCKETIO_VIEWS = {"HISTORY_URL": "django://sqlite"}
    store = make_store()
    assert (DatabaseHistory, "sqlite") == (type(store), store.using)


def test_a_history_url_naming_an_unknown_database_is_a_system_check_error(settings):
    """HISTORY_URL = "django://nope" is reported as socketio_views.E004 by manage.py check; "django://sqlite" is fine."""
    from socketio_views.checks import check_history_database

    settings.SOCKETIO_VIEWS = {"HISTORY_URL": "django://nope"}
    (error,) = check_history_database(None)
    assert "socketio_views.E004" == error.id
    assert "SOCKETIO_VIEWS['HISTORY_URL'] is 'django://nope', but DATABASES has no 'nope' database." == error.msg
    assert 'Use "django" for the default database, or "django://<alias>" with one of [\'default\', \'sqlite\'].' == error.hint
    settings.SOCKETIO_VIEWS = {"HISTORY_URL": "django://sqlite"}
    assert [] == check_history_database(None)


@pytest.mark.django_db(databases=DATABASES)
def test_offsets_increase_and_entries_replay_in_order(store):
    """Each kept broadcast gets a larger offset; after() returns what follows an offset, last() the newest."""
    policy = Policy(size=10, ttl=60, window=120)
    offsets = []
    for n in range(5):
        offsets.append(store.append("c", policy, "message", {"n": n, "é": "☃"}, skip_sid="s1" if n == 2 else None))
        store.now[0] += 0.002 if n % 2 else 0  # some in the same millisecond
    assert sorted(offsets, key=parse_offset) == offsets and len(set(offsets)) == 5
    assert [0, 1, 2, 3, 4] == numbers(store.after("c", START))
    assert [3, 4] == numbers(store.after("c", offsets[2]))
    assert [] == store.after("c", offsets[4])
    assert [3, 4] == numbers(store.last("c", 2))
    assert offsets[4] == store.last_offset("c")
    assert "s1" == store.after("c", offsets[1])[0].skip_sid
    assert {"n": 0, "é": "☃"} == store.last("c", 5)[0].data
    assert store.after("c", "not-an-offset") is None
    assert [0, 1, 2, 3, 4] == numbers(store.after("c", "1-999"))  # before the first: nothing was trimmed (as in memory)
    assert ([], START, []) == (store.after("other", START), store.last_offset("other"), store.last("other", 3))


@pytest.mark.django_db(databases=DATABASES)
def test_history_is_trimmed_to_its_size(store):
    """1,000 broadcasts into history = 100 keep exactly the last 100; an offset trimmed away cannot be resumed from."""
    policy = Policy(size=100, ttl=60, window=120)
    offsets = [store.append("c", policy, "message", {"n": n}) for n in range(1_000)]
    assert 100 == store.count("c") == HistoryEntry.objects.using(store.using).filter(channel="c").count()
    assert [998, 999] == numbers(store.after("c", offsets[-3]))
    assert list(range(900, 1_000)) == numbers(store.after("c", offsets[899]))  # trimmed, but had by the client
    assert store.after("c", offsets[898]) is None
    assert store.after("c", START) is None  # the beginning is gone
    assert list(range(950, 1_000)) == numbers(store.last("c", 50))


@pytest.mark.django_db(databases=DATABASES)
def test_a_silent_channel_expires_and_begins_again_with_larger_offsets(store):
    """After history_ttl without a broadcast the channel is forgotten; its next offsets still increase."""
    policy = Policy(size=100, ttl=60, window=120)
    old = store.append("c", policy, "message", {"n": 0})
    store.now[0] += 59
    latest = store.append("c", policy, "message", {"n": 1})  # renews the ttl
    store.now[0] += 59
    assert 2 == store.count("c")
    store.now[0] += 2
    assert (0, [], []) == (store.count("c"), store.after("c", latest), store.last("c", 5))
    assert None is store.after("c", old) is store.after("c", START)  # missed what expired
    assert latest == store.last_offset("c")  # a newcomer now misses nothing by starting there
    new = store.append("c", policy, "message", {"n": 2})
    assert parse_offset(new) > parse_offset(latest)
    assert [2] == numbers(store.after("c", latest))
    assert None is store.after("c", old) is store.after("c", START)
    store.now[0] += 61
    store.sweep()
    assert not HistoryStream.objects.using(store.using).filter(channel="c").exists()
    assert not HistoryEntry.objects.using(store.using).filter(channel="c").exists()


@pytest.mark.django_db(databases=DATABASES)
def test_a_payload_json_cannot_hold_is_a_type_error_and_keeps_nothing(store):
    """As with the other stores, a TypeError reaches the caller (hubs re-raise it) and nothing is written."""
    with pytest.raises(TypeError, match="not JSON serializable"):
        store.append("c", Policy(size=10, ttl=60, window=120), "message", {"x": object()})
    assert 0 == store.count("c")


@pytest.mark.django_db(databases=DATABASES)
def test_sessions_are_kept_extended_only_by_their_owner_and_expire(store):
    """A session is kept for its ttl; only the subscription that owns it extends it; an expired one is gone."""
    session = {"channel": "c", "user": None, "sid": "a", "offset": "1-0"}
    store.save_session("p1", session, 10)
    assert session == store.load_session("p1")
    store.extend_session("p1", {**session, "sid": "b", "offset": "9-9"}, 100)  # not the owner
    assert "a" == store.load_session("p1")["sid"]
    store.save_session("p1", {**session, "sid": "b"}, 10)  # recovered by b
    store.extend_session("p1", {**session, "sid": "b", "offset": "2-0"}, 100)
    store.now[0] += 50
    assert "2-0" == store.load_session("p1")["offset"]
    store.now[0] += 51
    assert store.load_session("p1") is None
    store.extend_session("p1", {**session, "sid": "b"}, 100)  # expired: not brought back
    assert store.load_session("p1") is None
    store.save_session("p2", session, 10)
    store.drop_session("p2")
    assert store.load_session("p2") is None
    store.sweep()
    assert not RecoverySession.objects.using(store.using).filter(pid="p1").exists()


@pytest.mark.django_db(databases=DATABASES)
def test_a_renewal_keeps_its_own_session_and_leaves_a_recovered_one_alone(store):
    """renew_session writes a session that is its subscription's, or expired, or gone, and not one another subscription recovered."""
    session = {"channel": "c", "user": None, "sid": "a", "offset": "1-0"}
    assert store.renew_session("p1", session, 10)  # gone (lost): written again
    assert session == store.load_session("p1")
    store.save_session("p1", {**session, "sid": "b", "offset": "2-0"}, 10)  # recovered by b
    assert not store.renew_session("p1", session, 100)
    assert {**session, "sid": "b", "offset": "2-0"} == store.load_session("p1")
    assert store.renew_session("p1", {**session, "sid": "b", "offset": "3-0"}, 100)
    store.now[0] += 101
    assert store.renew_session("p1", session, 10)  # b's expired: a's again
    assert "a" == store.load_session("p1")["sid"]


@pytest.mark.django_db(transaction=True, databases=DATABASES)
def test_concurrent_broadcasts_get_each_offset_once(using):
    """Eight threads, each on its own connection, append 25 entries each to one channel: 200 distinct offsets, numbered in offset order."""
    store = DatabaseHistory(using)
    policy = Policy(size=1_000, ttl=60, window=120)
    offsets, errors = [], []

    def broadcast(worker):
        try:
            for n in range(25):
                offsets.append(store.append("race", policy, "message", {"n": (worker, n)}))
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=broadcast, args=(worker,)) for worker in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [] == errors
    assert 200 == len(set(offsets))
    kept = list(HistoryEntry.objects.using(using).filter(channel="race").order_by("number"))
    assert list(range(1, 201)) == [e.number for e in kept]
    assert sorted(offsets, key=parse_offset) == [f"{e.ms}-{e.seq}" for e in kept]
    for worker in range(8):
        assert [[worker, n] for n in range(25)] == [e.data["n"] for e in store.after("race", START) if e.data["n"][0] == worker]


class Chat(ChannelView):
    history = 5

    def on_subscribe(self, room):
        if not self.recovered:
            self.send({"recovery_failure": self.recovery_failure}, event="snapshot")

    def on_message(self, data, room):
        self.broadcast(data)


@pytest.fixture
def router():
    router = ChannelRouter()
    router.register("chat/<str:room>", Chat)
    return router


@pytest.mark.django_db(databases=DATABASES)
def test_recovery_through_the_database_store_survives_a_new_store(router, using, settings):
    """A client that drops recovers what it missed exactly once, also from a fresh store (as after a restart)."""
    settings.SOCKETIO_VIEWS = {**settings.SOCKETIO_VIEWS, "HISTORY_URL": f"django://{using}"}
    assert isinstance(get_history(), DatabaseHistory)
    alice = ChannelTestClient(router=router)
    bob = ChannelTestClient(router=router)
    room = alice.subscribe("chat/a")
    bob_room = bob.subscribe("chat/a")
    bob_room.emit("message", {"n": 1})
    alice.drop()
    bob_room.emit("message", {"n": 2})
    bob_room.emit("message", {"n": 3})
    # A new process: nothing of the old store's state but what the database holds.
    settings.SOCKETIO_VIEWS = {**settings.SOCKETIO_VIEWS, "HISTORY_URL": f"django://{using}", "RECOVERY_WINDOW": 119}
    (again,) = alice.reconnect()
    assert again.recovered and again.pid == room.pid
    assert [{"n": 1}, {"n": 2}, {"n": 3}] == again.received("message")  # each once
    newcomer = ChannelTestClient(router=router).subscribe("chat/a")
    assert not newcomer.recovered


@pytest.mark.django_db(transaction=True)
def test_a_broken_connection_is_dropped_and_the_next_call_connects_again():
    """PostgreSQL ends the store's connection (a restart): that call fails, the next one works on a new connection."""
    import psycopg
    from django.db import DatabaseError

    store = DatabaseHistory("default")
    policy = Policy(size=10, ttl=60, window=120)
    store.append("c", policy, "message", {"n": 1})
    connection = connections["default"]
    pid = connection.connection.info.backend_pid
    settings = connection.settings_dict
    with psycopg.connect(
        host=settings["HOST"], port=settings["PORT"], user=settings["USER"], password=settings["PASSWORD"],
        dbname=settings["NAME"], autocommit=True,
    ) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])
    with pytest.raises(DatabaseError):
        store.append("c", policy, "message", {"n": 2})
    assert connection.connection is None  # dropped, not left broken
    store.append("c", policy, "message", {"n": 3})
    assert [1, 3] == numbers(store.after("c", START))
