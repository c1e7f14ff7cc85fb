"""The live channels page of the Django admin (socketio_views.admin, socketio_views.live), over real servers."""
import uuid

import pytest
import requests
from django.conf import settings
from django.contrib.auth.models import Permission, User
from django.test import Client

from socketio_views.live import LIVE_CHANNEL
from socketio_views.testing import LiveServer

from .waiting import wait_until
from .wire import WireClient

pytestmark = pytest.mark.django_db(transaction=True)

PAGE = "/admin/live-channels/"
ROOMS = "rooms/<slug:room>"


@pytest.fixture(scope="module")
def admin_server(django_db_setup, django_db_blocker):
    """The test project with the admin and the live channels page (static files served)."""
    server = LiveServer(settings_module="tests.settings_admin", args=["--insecure"]).start()
    yield server
    server.stop()


@pytest.fixture
def clients():
    opened = []

    def open_client(url, *channels, cookie=None, transport="websocket"):
        client = WireClient(url, transport=transport)
        opened.append(client)
        if channels:
            client.connect(*channels, headers={"Cookie": cookie} if cookie else None)
        return client

    yield open_client
    for client in opened:
        client.close()


def unique(name):
    return f"{name}-{uuid.uuid4().hex[:6]}"


def make_user(name, staff=False, perms=()):
    """A user named ``name`` (password ``pw``) with the live channels permissions ``perms`` (codenames)."""
    user = User.objects.create_user(name, password="pw", is_staff=staff)
    user.user_permissions.add(*(Permission.objects.get(content_type__app_label="socketio_views", codename=c) for c in perms))
    return user


OPERATOR = ("view_live_channels", "operate_live_channels")


def cookie_of(user):
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def route_in(snapshot, route):
    return next(r for r in snapshot["routes"] if r["route"] == route)


def channel_in(snapshot, channel, route=ROOMS):
    return next((c for c in route_in(snapshot, route)["channels"] if c["channel"] == channel), None)


def wait_for_snapshot(watcher, predicate, timeout=5, after=0):
    """Return the first ``snapshot`` (after the first ``after``) for which ``predicate`` holds."""

    def found():
        return next((s for s in watcher.received(LIVE_CHANNEL, "snapshot")[after:] if predicate(s)), None)

    return wait_until(
        found, timeout=timeout, interval=0.05, message=lambda: f"no such snapshot; last: {watcher.received(LIVE_CHANNEL, 'snapshot')[-1:]}"
    )


def test_page_is_for_staff_with_the_view_permission(admin_server):
    """Anonymous and non-staff users are sent to the admin login; staff without the permission get 403; with it, the page."""
    url = admin_server.url + PAGE
    anonymous = requests.get(url, allow_redirects=False, timeout=5)
    assert 302 == anonymous.status_code
    assert anonymous.headers["Location"].startswith("/admin/login/?next=")

    for user, status in (
        (make_user(unique("bob")), 302),
        (make_user(unique("staff"), staff=True), 403),
        (make_user(unique("viewer"), staff=True, perms=["view_live_channels"]), 200),
    ):
        response = requests.get(url, headers={"Cookie": cookie_of(user)}, allow_redirects=False, timeout=5)
        assert status == response.status_code, (user.username, response.text[:300])
    page = response.text
    assert '<div class="breadcrumbs">' in page and "Live channels" in page
    assert 'id="live-send"' not in page  # no operate permission: no actions
    assert '"channel": "socketio_views/live"' in page


def test_channel_refuses_anonymous_and_non_staff_with_a_code(admin_server, clients):
    """Subscribing to the live channel without being staff with the permission is refused with login_required or permission_denied."""
    assert "login_required" == clients(admin_server.url).refused(LIVE_CHANNEL)["data"]["code"]
    for user in (make_user(unique("bob")), make_user(unique("staff"), staff=True)):
        error = clients(admin_server.url).refused(LIVE_CHANNEL, headers={"Cookie": cookie_of(user)})
        assert "permission_denied" == error["data"]["code"], error


def test_snapshot_counts_subscribers_and_messages(admin_server, clients):
    """A watcher sees another client's subscription, the messages it sends per second, and the count fall when it leaves."""
    watcher = clients(admin_server.url, LIVE_CHANNEL, cookie=cookie_of(make_user(unique("viewer"), staff=True, perms=OPERATOR)))
    first = watcher.wait_for(LIVE_CHANNEL, "snapshot")[0]
    assert {"process", "time", "interval", "second", "routes"} <= set(first)
    assert ROOMS in [route["route"] for route in first["routes"]]
    assert LIVE_CHANNEL in [route["route"] for route in first["routes"]]

    room = unique("rooms/live")
    member = clients(admin_server.url, room)
    snapshot = wait_for_snapshot(watcher, lambda s: (channel_in(s, room) or {}).get("subscribers") == 1, timeout=2.5)
    assert [member.sio.get_sid("/" + room)] == [s["sid"] for s in channel_in(snapshot, room)["subscriptions"]]

    for n in range(5):
        assert {"ok": True} == member.call(room, "message", {"text": f"m{n}"})
    snapshot = wait_for_snapshot(watcher, lambda s: sum(route_in(s, ROOMS)["rates"]) >= 6, timeout=3)
    assert len(route_in(snapshot, ROOMS)["rates"]) == 120
    assert channel_in(snapshot, room)["rate"] > 0  # 6 broadcasts (joined and 5 messages) over the last 10 s

    seen = len(watcher.received(LIVE_CHANNEL, "snapshot"))
    member.close()
    wait_for_snapshot(watcher, lambda s: (channel_in(s, room) or {"subscribers": 0})["subscribers"] == 0, timeout=2.5, after=seen)


def test_snapshot_names_the_last_hold_of_the_hub(admin_server, clients):
    """After a view held the hub for 1 s, the process's snapshot names it with the hold's length."""
    import requests

    watcher = clients(admin_server.url, LIVE_CHANNEL, cookie=cookie_of(make_user(unique("viewer"), staff=True, perms=OPERATOR)))
    watcher.wait_for(LIVE_CHANNEL, "snapshot")
    # A second: long enough that gevent's monitor thread sees it on a machine busy with other tests.
    assert 200 == requests.get(admin_server.url + "/spin/?seconds=1", timeout=10).status_code
    snapshot = wait_for_snapshot(watcher, lambda s: s["hub_hold"] and "spin" in s["hub_hold"]["what"], timeout=5)
    assert "view tests.testapp.views.spin" == snapshot["hub_hold"]["what"]
    assert 0.95 <= snapshot["hub_hold"]["seconds"] < 3


def test_operator_sends_and_ends_subscriptions(admin_server, clients):
    """An operator sends to a channel, ends one subscription, then every subscription of a user."""
    operator = clients(admin_server.url, LIVE_CHANNEL, cookie=cookie_of(make_user(unique("op"), staff=True, perms=OPERATOR)))
    room, other = unique("rooms/ops"), unique("rooms/ops")
    listener = clients(admin_server.url, room)
    ack = operator.call(LIVE_CHANNEL, "send", {"channel": room, "event": "notice", "data": {"text": "maintenance"}})
    assert {"ok": True} == ack
    assert [{"text": "maintenance"}] == listener.wait_for(room, "notice")

    ended = clients(admin_server.url, room)
    sid = ended.sio.get_sid("/" + room)
    assert {"ok": True} == operator.call(LIVE_CHANNEL, "end_subscription", {"channel": room, "sid": sid})
    wait_until(lambda: room in ended.disconnects, timeout=3, message="the subscription was not ended")
    assert room not in listener.disconnects

    bob = make_user(unique("bob"))
    bobs = clients(admin_server.url, room, other, cookie=cookie_of(bob))
    assert {"ok": True} == operator.call(LIVE_CHANNEL, "end_user", {"user_id": str(bob.pk)})
    for channel in (room, other):
        assert "logged_out" == bobs.wait_for(channel, "error")[0]["code"]
    wait_until(lambda: {room, other} <= set(bobs.disconnects), timeout=3, message="bob's subscriptions were not ended")
    assert room not in listener.disconnects


def test_actions_need_the_operate_permission_and_valid_input(admin_server, clients):
    """A viewer without operate permission is refused; bad input is refused with code invalid."""
    viewer = clients(admin_server.url, LIVE_CHANNEL, cookie=cookie_of(make_user(unique("viewer"), staff=True, perms=["view_live_channels"])))
    for event, data in (("send", {"channel": "rooms/x"}), ("end_subscription", {"channel": "rooms/x", "sid": "x"}), ("end_user", {"user_id": "1"})):
        assert "permission_denied" == viewer.call(LIVE_CHANNEL, event, data)["error"]["code"]
    assert {"ok": True, "presence": []} == viewer.call(LIVE_CHANNEL, "presence", {"channel": "presence/nobody"})

    operator = clients(admin_server.url, LIVE_CHANNEL, cookie=cookie_of(make_user(unique("op"), staff=True, perms=OPERATOR)))
    for data in ({"channel": "nowhere/at/all"}, {"channel": LIVE_CHANNEL}, {"channel": "rooms/x", "event": "connect"}, {}):
        assert "invalid" == operator.call(LIVE_CHANNEL, "send", data)["error"]["code"], data
    gone = operator.call(LIVE_CHANNEL, "end_subscription", {"channel": "rooms/x", "sid": "gone"})["error"]
    assert {"code": "invalid", "message": "No subscription 'gone' on 'rooms/x': it has ended already."} == {
        k: gone[k] for k in ("code", "message")
    }


def test_demo_alice_sees_the_page_and_bob_does_not(tmp_path):
    """The demo includes the page: its staff user alice sees it, bob is sent to the login page."""
    from .demo import demo_servers

    with demo_servers(tmp_path) as start:
        server = start()
        for username, status in (("alice", 200), ("bob", 302)):
            http = requests.Session()
            http.get(server.url + "/admin/login/", timeout=5)
            login = http.post(
                server.url + "/admin/login/",
                data={"username": username, "password": "demo", "csrfmiddlewaretoken": http.cookies["csrftoken"], "next": PAGE},
                headers={"Referer": server.url + "/admin/login/"},
                allow_redirects=False,
                timeout=5,
            )
            assert (302 if username == "alice" else 200) == login.status_code, login.text[:500]
            response = http.get(server.url + PAGE, allow_redirects=False, timeout=5)
            assert status == response.status_code, (username, response.text[:500])
            if username == "alice":
                assert "Live channels" in response.text
            http.close()


def live_urlconf(register_channel):
    """A URLconf (a module object) that includes the page, with or without its channel on the router."""
    from types import ModuleType

    from django.contrib.admin import AdminSite
    from django.urls import include, path

    from socketio_views import ChannelRouter
    from socketio_views.admin import live_urls
    from socketio_views.live import LiveChannel

    router = ChannelRouter()
    if register_channel:
        router.register(LIVE_CHANNEL, LiveChannel)
    urlpatterns = [path("admin/live-channels/", include(live_urls(AdminSite(name="plain"))))]
    urlconf = ModuleType("live_urlconf")
    urlconf.urlpatterns = [*urlpatterns, path("socket.io/", include(router.urls))]
    return urlconf


@pytest.mark.parametrize("register_channel", [False, True])
def test_check_finds_the_page_without_its_channel(register_channel):
    """The URLconf check (socketio_views.E030) reports the page included without its channel, and nothing once it is registered."""
    from django.test import override_settings

    from socketio_views.live import check_live_channel_registered

    with override_settings(ROOT_URLCONF=live_urlconf(register_channel)):
        errors = check_live_channel_registered(None)
    if register_channel:
        assert [] == errors
    else:
        assert ["socketio_views.E030"] == [error.id for error in errors]
        assert "router.register(LIVE_CHANNEL, LiveChannel)" in errors[0].hint
    assert [] == check_live_channel_registered(None)  # tests.settings' URLconf does not include the page
