"""The live channels page in headless Chromium, on one process and on two sharing Redis (tests/test_live.py has the rest)."""
import re

import pytest
from django.conf import settings

from socketio_views.live import LIVE_CHANNEL
from socketio_views.testing import LiveServer

from .test_browser import browser  # noqa: F401  (the headless Chromium fixture)
from .test_live import OPERATOR, PAGE, ROOMS, admin_server, clients, cookie_of, make_user, unique  # noqa: F401  (fixtures)
from .test_scaleout import cluster_env, redis_url  # noqa: F401  (the Redis fixture)
from .waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def login(page, url, username):
    page.goto(url + "/admin/login/?next=" + PAGE)
    page.fill("#id_username", username)
    page.fill("#id_password", "pw")
    page.click("input[type=submit]")


@pytest.fixture
def people():
    """alice, an operator, and bob, not staff, with a session cookie of bob's (made before Playwright runs its event loop)."""
    bob = make_user(unique("bob"))
    return make_user(unique("alice"), staff=True, perms=OPERATOR), bob, cookie_of(bob)


def test_page_in_chromium_shows_subscriptions_live_and_refuses_non_staff(admin_server, people, browser, clients):  # noqa: F811
    """Headless Chromium: a python-socketio client's subscription shows within 2 s and its count falls when it leaves, a hold of the hub is named; bob is refused."""
    from playwright.sync_api import expect

    alice, bob, bob_cookie = people
    page = browser.new_context().new_page()
    login(page, admin_server.url, alice.username)
    expect(page).to_have_url(admin_server.url + PAGE)
    expect(page.locator("#live-status")).to_have_attribute("data-state", "up")
    expect(page.locator(".breadcrumbs")).to_contain_text("Live channels")
    expect(page.locator(f'#live-routes tr[data-route="{ROOMS}"]')).to_be_visible()

    room = unique("rooms/browser")
    member = clients(admin_server.url, room)
    row = page.locator(f'#live-channels tr[data-channel="{room}"]')
    expect(row.locator(".subscribers")).to_have_text("1", timeout=2000)
    expect(page.locator(f'#live-routes tr[data-route="{ROOMS}"] .subscribers')).to_have_text("1")

    link = row.locator("a.select").element_handle()
    row.locator("a.select").click()
    sid = member.sio.get_sid("/" + room)
    expect(page.locator(f'#live-subscriptions tr[data-sid="{sid}"]')).to_contain_text("anonymous")
    page.fill("#live-send-data", '{"text": "from the admin"}')
    page.click("#live-send input[type=submit]")
    expect(page.locator("#live-messages li.success")).to_contain_text(f"Sent to {room}.")
    assert {"text": "from the admin"} in member.wait_for(room, "message")

    page.click("#live-presence-button")
    expect(page.locator("#live-presence")).to_contain_text("Nobody is present")  # RoomChannel keeps no presence

    member.close()
    # Still listed while its messages count in its 10 s rate.
    expect(row.locator(".subscribers")).to_have_text("0", timeout=3000)
    expect(page.locator(f'#live-routes tr[data-route="{ROOMS}"] .subscribers')).to_have_text("0")
    # Snapshots update rows in place: what an operator is clicking is not replaced under the pointer.
    assert link.evaluate("(a) => a.isConnected")

    # A view that holds the hub is named on its process's row.
    import requests

    # A second: long enough that gevent's monitor thread sees it on a machine busy with other tests.
    assert 200 == requests.get(admin_server.url + "/spin/?seconds=1", timeout=10).status_code
    expect(page.locator("#live-processes tbody tr .hold")).to_contain_text(re.compile(r"view tests\.testapp\.views\.spin: [12]\."), timeout=5000)

    bob_page = browser.new_context().new_page()
    login(bob_page, admin_server.url, bob.username)  # the admin's login refuses non-staff...
    expect(bob_page.locator(".errornote")).to_be_visible()
    bob_page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": bob_cookie.split("=", 1)[1], "url": admin_server.url}])
    response = bob_page.goto(admin_server.url + PAGE)  # ...and the page sends a logged-in non-staff user there
    assert bob_page.url.startswith(admin_server.url + "/admin/login/?next=")
    assert 200 == response.status
    bob_page.add_script_tag(url="/static/socketio_views/vendor/socket.io.min.js")
    bob_page.add_script_tag(url="/static/socketio_views/socketio_views.js")
    code = bob_page.evaluate(
        """(channel) => new Promise((resolve) => {
             SocketIOViews.onError(SocketIOViews.subscribe(channel), (error) => resolve(error.code));
           })""",
        LIVE_CHANNEL,
    )
    assert "permission_denied" == code


def test_page_in_chromium_adds_up_the_processes_sharing_redis(redis_url, people, browser, clients):  # noqa: F811
    """Headless Chromium on one of two processes sharing Redis: subscribers of both add up, and a stopped process drops out."""
    from playwright.sync_api import expect

    env = cluster_env(redis_url)
    servers = [LiveServer(settings_module="tests.settings_admin", env=env, args=["--insecure"]).start() for _ in range(2)]
    try:
        page = browser.new_context().new_page()
        login(page, servers[0].url, people[0].username)
        expect(page.locator("#live-status")).to_have_attribute("data-state", "up")
        room = unique("rooms/both")
        clients(servers[0].url, room)
        far = clients(servers[1].url, room)
        count = page.locator(f'#live-channels tr[data-channel="{room}"] .subscribers')
        expect(count).to_have_text("2", timeout=5000)
        expect(page.locator("#live-processes tbody tr")).to_have_count(2)
        sid = far.sio.get_sid("/" + room)
        page.locator(f'#live-channels tr[data-channel="{room}"] a.select').click()
        page.locator(f'#live-subscriptions tr[data-sid="{sid}"] button.end-subscription').click()
        expect(page.locator("#live-messages li.success")).to_contain_text(f"Ended subscription {sid}.")
        wait_until(lambda: room in far.disconnects, timeout=3, message="the far subscription was not ended")
        expect(count).to_have_text("1", timeout=3000)
        servers[1].stop()
        expect(page.locator("#live-processes tbody tr")).to_have_count(1, timeout=10_000)
    finally:
        for server in servers:
            server.stop()
