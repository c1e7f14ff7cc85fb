"""Logout ends sockets, and an Engine.IO session id is not a bearer token (socketio_views.identity)."""
import json
import time
import uuid
from importlib import import_module

import pytest
import requests
import websocket
from django.conf import settings
from django.contrib.auth.models import User
from django.contrib.auth.signals import user_logged_out
from django.test import RequestFactory

import socketio_views
from socketio_views import identity, logout
from socketio_views.exceptions import LoggedOut
from socketio_views.testing import ChannelTestClient, InMemoryHub, SubscriptionRefused, using_test_hub

from .waiting import wait_until
from .wire import WireClient, session_cookie

#: What each subscription of a logged-out user receives before it ends.
LOGGED_OUT = {"message": LoggedOut.default_message, "code": "logged_out", "event": None}
#: How soon a logout must end the subscriptions (the issue's bound).
LOGOUT_BOUND = 1.0
#: A CSRF secret sent as both cookie and header, so that Django's LogoutView accepts the POST.
CSRF = "c" * 32


def log_out(server_url, cookie):
    """Log the session of ``cookie`` out through the site's own logout view (django.contrib.auth's LogoutView)."""
    response = requests.post(
        server_url + "/logout/",
        headers={"Cookie": f"{cookie}; csrftoken={CSRF}", "X-CSRFToken": CSRF},
        allow_redirects=False,
        timeout=10,
    )
    assert 302 == response.status_code, response.text[:500]


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


# The test client.


@pytest.mark.django_db
def test_logout_ends_a_test_clients_subscriptions_with_logged_out():
    """ChannelTestClient.logout() sends user_logged_out, ends each subscription with logged_out, and makes the client anonymous."""
    alice = ChannelTestClient(user=User.objects.create_user("alice"))
    members = alice.subscribe("members/lobby")
    room = alice.subscribe("rooms/lobby")
    heard = []

    def receiver(sender, user, **kwargs):
        heard.append(user.username)

    user_logged_out.connect(receiver)
    try:
        alice.logout()
    finally:
        user_logged_out.disconnect(receiver)

    assert ["alice"] == heard
    assert (members.closed, room.closed) == (True, True)
    assert [LOGGED_OUT, LOGGED_OUT] == alice.received("error")
    with pytest.raises(SubscriptionRefused) as refused:
        alice.subscribe("members/lobby")
    assert "login_required" == refused.value.code
    assert (False, "") == whoami(alice.subscribe("rooms/after"))
    alice.drop()
    [again] = alice.reconnect()  # a new connection: the browser's session is gone, it stays anonymous
    assert (False, "") == whoami(again)
    with pytest.raises(SubscriptionRefused, match="Log in"):
        alice.subscribe("members/lobby")


def whoami(subscription):
    """(authenticated, username) as a room channel sees its subscriber."""
    reply = subscription.emit("whoami")
    return reply["authenticated"], reply["user"]


@pytest.mark.django_db
def test_disconnect_user_ends_every_connection_of_that_user_only():
    """disconnect_user(alice) ends both of alice's test connections with logged_out; bob and anonymous clients keep theirs."""
    alice_user = User.objects.create_user("alice")
    phone, laptop = ChannelTestClient(user=alice_user), ChannelTestClient(user=alice_user)
    bob, anonymous = ChannelTestClient(user=User.objects.create_user("bob")), ChannelTestClient()
    subscriptions = [phone.subscribe("members/a"), laptop.subscribe("members/a"), laptop.subscribe("rooms/a")]
    others = [bob.subscribe("members/a"), anonymous.subscribe("rooms/a")]

    socketio_views.disconnect_user(alice_user)

    assert [True, True, True] == [s.closed for s in subscriptions]
    assert ([LOGGED_OUT], [LOGGED_OUT, LOGGED_OUT]) == (phone.received("error"), laptop.received("error"))
    assert [False, False] == [s.closed for s in others]
    assert [] == bob.received("error") + anonymous.received("error")
    with pytest.raises(SubscriptionRefused, match="Log in"):
        phone.subscribe("members/b")
    assert {"ok": True} == ChannelTestClient(user=alice_user).subscribe("members/b").emit("message", {})


@pytest.mark.django_db
def test_disconnect_user_accepts_a_primary_key_and_refuses_an_unsaved_user():
    """disconnect_user() takes a user or its pk; an unsaved user has no pk to look for."""
    alice_user = User.objects.create_user("alice")
    alice = ChannelTestClient(user=alice_user)
    members = alice.subscribe("members/pk")

    socketio_views.disconnect_user(alice_user.pk)

    assert members.closed
    with pytest.raises(ValueError, match="has no primary key"):
        socketio_views.disconnect_user(User(username="nobody"))


class RecordingHub(InMemoryHub):
    """An in-memory hub that records which identities were ended."""

    def __init__(self):
        super().__init__()
        self.ended = []

    def end_identity(self, **ended):
        self.ended.append(ended)
        super().end_identity(**ended)


@pytest.mark.django_db
def test_deleting_a_session_ends_it_but_expired_sessions_are_left_alone():
    """Deleting a live session row (admin, flush, cycle_key) ends its identity; clearsessions' expired rows do not."""
    from datetime import timedelta

    from django.utils import timezone

    store_class = import_module(settings.SESSION_ENGINE).SessionStore
    live, expired = store_class(), store_class()
    live.create()
    expired.create()
    model = logout.session_model()
    model.objects.filter(pk=expired.session_key).update(expire_date=timezone.now() - timedelta(days=1))
    hub = RecordingHub()

    with using_test_hub(hub):
        model.objects.filter(pk__in=[live.session_key, expired.session_key]).delete()

    assert [{"session": identity.session_hash(live.session_key)}] == hub.ended


def test_session_hash_is_keyed_and_never_the_key():
    """session_hash() is a stable 32-character HMAC of the key, not the key; no key has no hash."""
    key = "k" * 32
    assert identity.session_hash(key) == identity.session_hash(key)
    assert key not in identity.session_hash(key) and len(identity.session_hash(key)) == 32
    assert identity.session_hash("other" * 8) != identity.session_hash(key)
    assert (None, None) == (identity.session_hash(None), identity.session_hash(""))


def environ(cookie=None, origin=None, method="get"):
    headers = {}
    if cookie:
        headers["Cookie"] = cookie
    if origin:
        headers["Origin"] = origin
    return getattr(RequestFactory(), method)("/socket.io/", {"EIO": "4", "transport": "polling"}, headers=headers).environ


def test_owner_needs_the_same_session_cookie():
    """A request for a session must bring the handshake's session cookie, or none if it brought none."""
    alice, bob = f"{settings.SESSION_COOKIE_NAME}={'a' * 32}", f"{settings.SESSION_COOKIE_NAME}={'b' * 32}"
    owner = identity.Identity.of(environ(alice))
    assert owner.owns(environ(alice + "; theme=dark"))
    assert not owner.owns(environ())
    assert not owner.owns(environ(bob))
    anonymous = identity.Identity.of(environ("theme=dark"))
    assert anonymous.owns(environ())
    assert not anonymous.owns(environ(alice))


def test_owner_needs_the_same_origin():
    """A request's Origin must be the handshake's; without one at the handshake, the first allowed Origin binds."""
    pinned = identity.Identity.of(environ(origin="https://trusted.example"))
    assert pinned.owns(environ(origin="https://trusted.example"))
    assert pinned.owns(environ())  # same-origin GETs carry no Origin
    assert not pinned.owns(environ(origin="http://testserver"))

    same_site = identity.Identity.of(environ())
    assert not same_site.owns(environ(origin="https://evil.example", method="post"))
    assert same_site.owns(environ(origin="http://testserver", method="post"))
    assert not same_site.owns(environ(origin="https://trusted.example", method="post"))
    assert "http://testserver" == same_site.origin


# Over the wire: logout.

live = pytest.mark.django_db(transaction=True)


def raw_connection(server_url, cookie):
    """A raw Engine.IO websocket opened with ``cookie``."""
    ws = websocket.create_connection(
        server_url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket",
        timeout=5,
        header=[f"Cookie: {cookie}"],
    )
    assert ws.recv().startswith("0{")
    return ws


def receive_until(ws, predicate, timeout=5):
    """Socket.IO packets of ``ws`` (answering pings) up to the first one ``predicate`` accepts; all of them."""
    packets, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        ws.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            packet = ws.recv()
        except websocket.WebSocketTimeoutException:
            break
        if packet == "2":
            ws.send("3")
            continue
        packets.append(packet)
        if predicate(packet):
            return packets
    raise AssertionError(f"No expected packet within {timeout} s; got {packets}")


def data_of(packet):
    """The JSON data of a Socket.IO packet with a namespace (after its acknowledgement id, if any)."""
    return json.loads(packet.split(",", 1)[1].lstrip("0123456789"))


def event_of(packet, namespace):
    """``[event, data]`` of an event packet on ``namespace``, else ``None``."""
    prefix = f"42/{namespace},"
    return json.loads(packet[len(prefix):]) if packet.startswith(prefix) else None


@live
def test_logging_out_through_the_logout_view_ends_the_subscription_within_a_second(live_channels_server):
    """Django's LogoutView ends the socket's members subscription with logged_out within 1 s; the connection
    stays, and subscribing again on it is anonymous: members refuse it, a room sees an anonymous user."""
    alice = unique("alice")
    cookie = session_cookie(alice)
    room = unique("lobby")
    ws = raw_connection(live_channels_server.url, cookie)
    try:
        ws.send(f"40/members/{room},")
        assert ["welcome", {"welcome": alice}] == event_of(
            receive_until(ws, lambda p: p.startswith(f"42/members/{room},"))[-1], f"members/{room}"
        )

        log_out(live_channels_server.url, cookie)
        logged_out = time.monotonic()
        packets = receive_until(ws, lambda p: p == f"41/members/{room},", timeout=5)
        elapsed = time.monotonic() - logged_out
        assert [["error", LOGGED_OUT]] == [event_of(p, f"members/{room}") for p in packets if p.startswith("42")]
        assert elapsed < LOGOUT_BOUND, f"the subscription ended {elapsed:.2f} s after the logout"

        ws.send(f"40/members/{room},")
        refused = receive_until(ws, lambda p: p.startswith(f"44/members/{room},"))[-1]
        assert "login_required" == data_of(refused)["data"]["code"]
        ws.send(f"40/rooms/{room},")
        receive_until(ws, lambda p: p.startswith(f"40/rooms/{room},"))
        ws.send(f'42/rooms/{room},1["whoami"]')
        [reply] = data_of(receive_until(ws, lambda p: p.startswith(f"43/rooms/{room},1"))[-1])
        assert (False, "") == (reply["authenticated"], reply["user"])
    finally:
        ws.close()


@live
@pytest.mark.parametrize("engine", ["signed_cookies", "cache"])
def test_logging_out_ends_the_subscription_with_any_session_engine(engine):
    """Signed-cookie and cache sessions leave no database row to delete: the user_logged_out receiver alone ends the subscription."""
    from django.test import override_settings

    from socketio_views.testing import LiveServer

    from .ci import require
    from .test_scaleout import REDIS_URL, redis_reachable

    if engine == "cache":
        require(redis_reachable(REDIS_URL), f"Redis is not reachable at {REDIS_URL}")
    env = {
        "SOCKETIO_VIEWS_TEST_SESSION_ENGINE": f"django.contrib.sessions.backends.{engine}",
        "SOCKETIO_VIEWS_TEST_CACHE_PREFIX": unique("svt-sessions"),
    }
    here = {
        "SESSION_ENGINE": env["SOCKETIO_VIEWS_TEST_SESSION_ENGINE"],
        "CACHES": {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL,
                               "KEY_PREFIX": env["SOCKETIO_VIEWS_TEST_CACHE_PREFIX"]}},
    }
    alice, room = unique("alice"), unique("lobby")
    with override_settings(**here):
        cookie = session_cookie(alice)
    with LiveServer(settings_module="tests.settings_sessions", env=env) as server:
        ws = raw_connection(server.url, cookie)
        try:
            ws.send(f"40/members/{room},")
            assert ["welcome", {"welcome": alice}] == event_of(
                receive_until(ws, lambda p: p.startswith(f"42/members/{room},"))[-1], f"members/{room}"
            )
            log_out(server.url, cookie)
            packets = receive_until(ws, lambda p: p == f"41/members/{room},", timeout=5)
            assert [["error", LOGGED_OUT]] == [event_of(p, f"members/{room}") for p in packets if p.startswith("42")]
        finally:
            ws.close()


@live
def test_a_new_subscription_rechecks_the_session(live_channels_server):
    """A session deleted where no signal reaches the server (another database client) still stops the connection's
    next subscription: members refuse it as anonymous, and the subscription it already had is not touched."""
    from django.db import connection

    cookie = session_cookie(unique("alice"))
    room = unique("r")
    ws = raw_connection(live_channels_server.url, cookie)
    try:
        ws.send(f"40/members/{room},")
        receive_until(ws, lambda p: p.startswith(f"42/members/{room},"))
        with connection.cursor() as cursor:  # raw SQL: no post_delete signal anywhere
            cursor.execute("DELETE FROM django_session WHERE session_key = %s", [cookie.split("=", 1)[1]])
        ws.send(f"40/members/{room}-2,")
        refused = receive_until(ws, lambda p: p.startswith(f"44/members/{room}-2,"))[-1]
        assert "login_required" == data_of(refused)["data"]["code"]
        ws.send(f'42/members/{room},1["message",{{}}]')
        assert f'43/members/{room},1[{{"ok":true}}]' == receive_until(ws, lambda p: p.startswith("43/"))[-1]
    finally:
        ws.close()


@live
def test_disconnect_user_over_the_wire(live_channels_server):
    """disconnect_user() from a Django view ends alice's websocket and polling subscriptions with logged_out
    within 1 s; bob's subscription on the same channel carries on."""
    alice_name = unique("alice")
    channel = unique("members/room")
    cookie = session_cookie(alice_name)
    alice_ws = WireClient(live_channels_server.url).connect(channel, headers={"Cookie": cookie})
    alice_polling = WireClient(live_channels_server.url, transport="polling").connect(channel, headers={"Cookie": cookie})
    bob = WireClient(live_channels_server.url).connect(channel, headers={"Cookie": session_cookie(unique("bob"))})
    try:
        for client in (alice_ws, alice_polling, bob):
            client.wait_for(channel, "welcome")
        response = requests.post(
            live_channels_server.url + "/disconnect-user/", data=json.dumps({"username": alice_name}), timeout=10
        )
        assert 200 == response.status_code
        sent = time.monotonic()
        for client in (alice_ws, alice_polling):
            wait_until(lambda: channel in client.disconnects, timeout=5, interval=0.01, message=lambda: client.events)
        elapsed = time.monotonic() - sent
        assert elapsed < LOGOUT_BOUND, f"the subscriptions ended {elapsed:.2f} s after disconnect_user"
        assert ([LOGGED_OUT], [LOGGED_OUT]) == (alice_ws.received(channel, "error"), alice_polling.received(channel, "error"))
        assert {"ok": True} == bob.call(channel, "message", {})
        assert ([], []) == (bob.received(channel, "error"), bob.disconnects)
    finally:
        for client in (alice_ws, alice_polling, bob):
            client.close()


# Revocation (socketio_views.revocation): rights that shrink end the subscriptions that needed them.

#: What each subscription whose access was revoked receives before it ends.
ACCESS_REVOKED = {"message": "Your access to this channel has been revoked.", "code": "access_revoked", "event": None}


def change_user(server_url, **change):
    """Change a user's rights inside the live server's process (tests/testapp/views.py change_user)."""
    response = requests.post(server_url + "/change-user/", data=json.dumps(change), timeout=10)
    assert 200 == response.status_code, response.text[:500]


@pytest.mark.django_db
def test_a_deactivated_users_test_subscriptions_end_with_access_revoked(django_capture_on_commit_callbacks):
    """Saving a user inactive ends every subscription of theirs with access_revoked, and the connection is anonymous."""
    bob_user = User.objects.create_user("bob")
    bob, carol = ChannelTestClient(user=bob_user), ChannelTestClient(user=User.objects.create_user("carol"))
    members, room, other = bob.subscribe("members/a"), bob.subscribe("rooms/a"), carol.subscribe("members/a")

    with django_capture_on_commit_callbacks(execute=True):
        bob_user.is_active = False
        bob_user.save()

    assert (True, True, False) == (members.closed, room.closed, other.closed)
    assert [ACCESS_REVOKED, ACCESS_REVOKED] == bob.received("error")
    with pytest.raises(SubscriptionRefused, match="Log in"):
        bob.subscribe("members/b")


@pytest.mark.django_db
def test_a_lost_permission_ends_only_the_test_subscriptions_that_needed_it(django_capture_on_commit_callbacks):
    """Removing a permission reruns each subscription's checks: moderators (which need it) ends, members stays."""
    from django.contrib.auth.models import Permission

    alice_user = User.objects.create_user("alice")
    alice_user.user_permissions.add(*Permission.objects.filter(codename__in=["change_user", "view_user"]))
    alice = ChannelTestClient(user=User.objects.get(pk=alice_user.pk))
    moderators, members = alice.subscribe("moderators/a"), alice.subscribe("members/a")

    with django_capture_on_commit_callbacks(execute=True):
        alice_user.user_permissions.remove(Permission.objects.get(codename="view_user"))

    assert (True, False) == (moderators.closed, members.closed)
    assert [ACCESS_REVOKED] == alice.received("error")
    assert {"ok": True} == members.emit("message", {})


@pytest.mark.django_db
def test_saving_only_last_login_rechecks_nothing(django_capture_on_commit_callbacks):
    """A save whose update_fields name no right (last_login at each login) sends no recheck."""
    alice_user = User.objects.create_user("alice")
    with django_capture_on_commit_callbacks() as callbacks:
        alice_user.save(update_fields=["last_login"])
        alice_user.save(update_fields=["is_staff"])
    assert 1 == len(callbacks)


@live
def test_deactivating_a_user_ends_their_sockets_within_a_second(live_channels_server):
    """is_active = False, saved in the server's process, ends bob's websocket and polling subscriptions (a members
    channel and a public room) with access_revoked within 1 s; carol's subscription carries on."""
    bob_name, channel, room = unique("bob"), unique("members/room"), unique("rooms/r")
    cookie = session_cookie(bob_name)
    bob_ws = WireClient(live_channels_server.url).connect(channel, headers={"Cookie": cookie})
    bob_polling = WireClient(live_channels_server.url, transport="polling").connect(room, headers={"Cookie": cookie})
    carol = WireClient(live_channels_server.url).connect(channel, headers={"Cookie": session_cookie(unique("carol"))})
    try:
        bob_ws.wait_for(channel, "welcome")
        carol.wait_for(channel, "welcome")
        assert bob_name == bob_polling.call(room, "whoami")["user"]
        change_user(live_channels_server.url, username=bob_name, is_active=False)
        sent = time.monotonic()
        wait_until(lambda: channel in bob_ws.disconnects, timeout=5, interval=0.01, message=lambda: bob_ws.events)
        wait_until(lambda: room in bob_polling.disconnects, timeout=5, interval=0.01, message=lambda: bob_polling.events)
        elapsed = time.monotonic() - sent
        assert elapsed < LOGOUT_BOUND, f"the subscriptions ended {elapsed:.2f} s after the save"
        assert ([ACCESS_REVOKED], [ACCESS_REVOKED]) == (bob_ws.received(channel, "error"), bob_polling.received(room, "error"))
        assert {"ok": True} == carol.call(channel, "message", {})
        assert ([], []) == (carol.received(channel, "error"), carol.disconnects)
    finally:
        for client in (bob_ws, bob_polling, carol):
            client.close()


@live
def test_losing_a_permission_ends_the_subscription_that_needed_it_within_a_second(live_channels_server):
    """A permission removed in the server's process ends alice's moderators subscription with access_revoked
    within 1 s; her members subscription, which needs no permission, carries on."""
    from django.contrib.auth.models import Permission

    alice_name, room = unique("alice"), unique("r")
    cookie = session_cookie(alice_name)
    User.objects.get(username=alice_name).user_permissions.add(
        *Permission.objects.filter(content_type__app_label="auth", codename__in=["change_user", "view_user"])
    )
    moderators, members = f"moderators/{room}", f"members/{room}"
    alice = WireClient(live_channels_server.url).connect(moderators, members, headers={"Cookie": cookie})
    try:
        alice.wait_for(members, "welcome")
        change_user(live_channels_server.url, username=alice_name, remove_permission="auth.view_user")
        sent = time.monotonic()
        wait_until(lambda: moderators in alice.disconnects, timeout=5, interval=0.01, message=lambda: alice.events)
        elapsed = time.monotonic() - sent
        assert elapsed < LOGOUT_BOUND, f"the subscription ended {elapsed:.2f} s after the change"
        assert [ACCESS_REVOKED] == alice.received(moderators, "error")
        assert {"ok": True} == alice.call(members, "message", {})
        assert members not in alice.disconnects
    finally:
        alice.close()
