"""The demo chat as people use it, in headless Chromium: history, recovery, identity, feedback, phone layout.

One Redis-backed demo server and one Chromium serve most of the module; a
second demo server runs as `make demo` does (no Redis, history in its
database). Screenshots of the rooms
page and of a room, at 1280×800 and 390×844, are written to
test-artifacts/demo-screenshots/ (git-ignored) on every run.
"""
import os
import re
import subprocess
import sys
import uuid

import pytest
import redis

from .ci import require
from .demo import DEMO_DIR, demo_servers
from .paths import pythonpath
from .test_browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, ROOT

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
SCREENSHOTS = ARTIFACTS / "demo-screenshots"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"  # package.json's devDependency (`make static` installs it)
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
RUN = uuid.uuid4().hex[:8]


def room_slug(name):
    """A room of this run only: history streams and presence in the shared Redis never mix between runs."""
    return f"{name}-{RUN}"


@pytest.fixture(scope="module")
def redis_client():
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError:
        require(False, f"Redis is not running at {REDIS_URL}")
    yield client
    for key in client.scan_iter(f"socketio_views:*{RUN}*"):
        client.delete(key)
    client.delete("socketio_views:history:members/members")  # the built-in room, kept in Redis for a day
    client.close()


@pytest.fixture(scope="module")
def demo(tmp_path_factory, redis_client):
    """The demo on Redis (its own pub/sub channel); ``demo.server`` is running, ``demo(port)`` starts it (again).

    Rate limits stay in the process's memory: in Redis, the rooms created by
    one run (all from 127.0.0.1) would count against the next.
    """
    env = {
        "SOCKETIO_VIEWS_BACKEND": REDIS_URL,
        "SOCKETIO_VIEWS_BACKEND_CHANNEL": f"demo-browser-{RUN}",
        "SOCKETIO_VIEWS_RATE_LIMIT_STORAGE": "memory://",
    }
    with demo_servers(tmp_path_factory.mktemp("demo-browser"), env=env) as start:
        start.server = start()
        yield start


@pytest.fixture(scope="module")
def browser():
    require(CHROMIUM, "chromium is not installed (`make test` installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def contexts(browser):
    """``new(**options)`` opens a browser context (one person); all are closed after the test."""
    opened = []

    def new(**options):
        opened.append(browser.new_context(**{"viewport": DESKTOP, **options}))
        return opened[-1]

    yield new
    for context in opened:
        context.close()


def enter_room(context, url, slug, nickname=None):
    """Open a room's page in a new tab of ``context``, give a nickname if asked, and wait until online."""
    page = context.new_page()
    page.goto(f"{url}/rooms/{slug}/")
    if nickname:
        page.fill("#nickname", nickname)
        page.press("#nickname", "Enter")
    page.wait_for_selector("#status[data-state=up]")
    return page


def log_in(context, url, username):
    page = context.new_page()
    page.goto(url + "/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "demo")
    page.click("main button[type=submit]")
    page.wait_for_url(url + "/")
    page.close()


def say(page, text):
    page.fill("#text", text)
    page.press("#text", "Enter")


def screenshot(page, name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")
    return path


def assert_controls_labelled(page):
    """Every control in Playwright's ARIA snapshot of ``page`` has a name; return the snapshot."""
    snapshot = page.locator("body").aria_snapshot()
    controls = [line.strip() for line in snapshot.splitlines()
                if re.match(r"\s*- '?(button|textbox|link|checkbox|combobox|searchbox)\b", line)]
    assert controls, snapshot
    unnamed = [line for line in controls if not re.match(r'- \'?\w+ "[^"]+"', line)]  # quoted when the name has a "#"
    assert unnamed == [], snapshot
    return snapshot


def texts(page):
    return page.locator("#messages li.msg .text").all_inner_texts()


def test_history_timestamps_own_messages_links_and_typing(demo, contexts):
    """A newcomer sees the last messages with local times; own ones stand apart; links are links; typing ends with the message."""
    from playwright.sync_api import expect

    url, slug = demo.server.url, room_slug("talk")
    ann = enter_room(contexts(), url, slug, "ann")
    expect(ann.locator("#empty")).to_be_visible()
    expect(ann.locator("#empty")).to_have_text("No messages yet. Say hello!")
    for text in ("hello", "see https://example.com/a?b=1.", "<b>not bold</b>"):
        say(ann, text)
        expect(ann.locator("#messages li.msg").last).to_contain_text(text)
    expect(ann.locator("#empty")).to_be_hidden()

    ben = enter_room(contexts(), url, slug, "ben")
    # History on join: the three messages, once each, in order.
    expect(ben.locator("#messages li.msg")).to_have_count(3)
    assert texts(ben) == ["hello", "see https://example.com/a?b=1.", "<b>not bold</b>"]
    expect(ben.locator("#empty")).to_be_hidden()
    expect(ben.locator("#messages li.day")).to_have_text("Today")

    # Timestamps: the server's time, shown in the browser's local time.
    stamp = ben.locator("#messages li.msg time").first
    shown, iso = stamp.inner_text(), stamp.get_attribute("datetime")
    local = ben.evaluate("(iso) => new Date(iso).toLocaleTimeString(undefined, {hour: '2-digit', minute: '2-digit'})", iso)
    assert shown == local and re.fullmatch(r"\d{4}-\d\d-\d\dT.*Z", iso)

    # Grouped: ann's three messages have one heading; the others' headings are for screen readers only.
    assert ben.locator("#messages li.msg.grouped").count() == 2
    # Links are <a> elements made from the text; markup stays text.
    link = ben.locator("#messages a")
    expect(link).to_have_attribute("href", "https://example.com/a?b=1")
    expect(link).to_have_attribute("rel", "noopener noreferrer nofollow")
    assert ben.locator("#messages b").count() == 0

    # Own messages: marked, coloured and aligned right; others' on the left.
    say(ben, "hi ann")
    expect(ann.locator("#messages li.msg").last).to_contain_text("hi ann")
    expect(ann.locator("#messages li.day")).to_have_count(1)  # "ben joined" between them starts no new day
    for page, mine, theirs in ((ann, "hello", "hi ann"), (ben, "hi ann", "hello")):
        own = page.locator("#messages li.msg", has_text=mine).first
        other = page.locator("#messages li.msg", has_text=theirs).first
        expect(own).to_have_class(re.compile(r"\bown\b"))
        expect(other).not_to_have_class(re.compile(r"\bown\b"))
        box, other_box, list_box = own.bounding_box(), other.bounding_box(), page.locator("#messages").bounding_box()
        assert list_box["x"] + list_box["width"] - (box["x"] + box["width"]) < 12  # right-aligned
        assert other_box["x"] - list_box["x"] < 12  # left-aligned
        colours = [m.evaluate("(e) => getComputedStyle(e).backgroundColor") for m in (own, other)]
        assert colours[0] != colours[1]
    screenshot(ann, "room-desktop")

    # Typing: shown while ben types, gone as soon as his message arrives (not 3 s later).
    ben.fill("#text", "")
    ben.type("#text", "typing this", delay=120)  # typing notices go out at most once a second
    expect(ann.locator("#typing")).to_have_text("ben is typing…")
    ben.press("#text", "Enter")
    expect(ann.locator("#messages li.msg").last).to_contain_text("typing this")
    expect(ann.locator("#typing")).to_have_text("", timeout=500)


def test_a_burst_past_the_rate_limit_loses_no_message(demo, contexts):
    """A burst of 10: one countdown; the refused ones wait in view, in order, and go out by themselves, before a message typed meanwhile."""
    from playwright.sync_api import expect

    url, slug = demo.server.url, room_slug("burst")
    ben = enter_room(contexts(), url, slug, "ben")
    ann = enter_room(contexts(viewport=PHONE), url, slug, "ann")  # second: no "ben joined" line in her list
    ann.evaluate(
        "() => { const input = document.getElementById('text'); const form = document.getElementById('send');"
        " for (let n = 0; n < 10; n++) { input.value = 'flood ' + n; form.requestSubmit(); } }"
    )
    notice = ann.locator("#notice")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text(re.compile(r"^Slow down: \d+ messages wait and go out by themselves in \d+ s\.$"))
    first = int(re.search(r"in (\d+) s", notice.inner_text()).group(1))
    assert 1 <= first <= 3
    assert ann.locator("#notice, #messages li.notice, #messages li.error").count() == 1  # one notice, no red lines
    assert "rate_limited" not in ann.inner_text("main")
    waiting = ann.locator("#messages li.waiting")
    expect(waiting).to_have_count(4)  # the rest of the burst: each one listed, none lost
    expect(ann.locator("#messages li.msg")).to_have_count(6)
    refused = waiting.locator(".text").all_inner_texts()
    assert refused == sorted(refused, key=lambda text: int(text.split()[1]))  # in the order typed, below the sent ones
    expect(waiting.first).to_contain_text("Waiting:")
    expect(ann.get_by_role("button", name="Retry all (4)")).to_be_disabled()  # until the countdown ends
    # In view on a phone: the last one waiting inside the list's visible part, the notice above the composer.
    log, last, composer = (ann.locator(s).bounding_box() for s in ("#messages", "#messages li.waiting >> nth=-1", "#send"))
    assert log["y"] <= last["y"] and last["y"] + last["height"] <= log["y"] + log["height"] + 1
    assert notice.bounding_box()["y"] + notice.bounding_box()["height"] <= composer["y"]
    screenshot(ann, "room-waiting-phone")
    say(ann, "typed during the countdown")  # waits behind the others: it never overtakes them
    expect(waiting).to_have_count(5)
    expect(waiting.last).to_contain_text("typed during the countdown")
    waiting.nth(3).get_by_role("button", name="Discard").click()  # one of them, thought better of
    expect(waiting).to_have_count(4)
    expected = texts(ann) + [text for text in refused if text != refused[3]] + ["typed during the countdown"]
    expect(ann.locator("#messages li.outgoing")).to_have_count(0, timeout=15_000)
    for page in (ann, ben):
        expect(page.locator("#messages li.msg")).to_have_count(10)
    ben.wait_for_timeout(300)  # no late duplicate
    for page in (ann, ben):
        assert texts(page) == expected
    expect(notice).to_be_hidden()


def test_retry_all_sends_the_unanswered_in_order(demo, contexts):
    """Two messages the server never answered are "Not sent"; "Retry all (2)" sends both, in the order typed, each once."""
    from playwright.sync_api import expect

    url, slug = demo.server.url, room_slug("retry-all")
    page = contexts().new_page()
    dropping = [False]

    def relay(ws):  # the page's WebSocket, with its messages dropped on the way while `dropping`
        server = ws.connect_to_server()
        ws.on_message(lambda message: None if dropping[0] and '["message"' in str(message) else server.send(message))

    page.route_web_socket(re.compile(r"/socket\.io/"), relay)
    page.goto(f"{url}/rooms/{slug}/")
    page.fill("#nickname", "rita")
    page.press("#nickname", "Enter")
    expect(page.locator("#status")).to_have_text("Online")
    say(page, "through")
    expect(page.locator("#messages li.msg")).to_have_count(1)
    dropping[0] = True
    say(page, "lost one")
    say(page, "lost two")
    unsent = page.locator("#messages li.unsent")
    expect(unsent).to_have_count(2, timeout=15_000)  # the acknowledgement's 10 s timeout
    expect(unsent.first).to_contain_text("Not sent: no answer from the server.")
    retry_all = page.get_by_role("button", name="Retry all (2)")
    expect(retry_all).to_be_enabled()
    dropping[0] = False
    retry_all.click()
    expect(page.locator("#messages li.outgoing")).to_have_count(0)
    expect(retry_all).to_be_hidden()
    page.wait_for_timeout(300)
    assert texts(page) == ["through", "lost one", "lost two"]


def test_send_pressed_twice_before_the_answer_sends_once(demo, contexts):
    """A double Enter (or double click on Send) while the first send awaits its acknowledgement sends one message."""
    from playwright.sync_api import expect

    ann = enter_room(contexts(), demo.server.url, room_slug("twice"), "ann")
    ann.fill("#text", "only once")
    ann.evaluate("() => { const form = document.getElementById('send'); form.requestSubmit(); form.requestSubmit(); }")
    expect(ann.locator("#text")).to_have_value("")
    say(ann, "next")  # the one after it goes through
    expect(ann.locator("#messages li.msg").last).to_contain_text("next")
    assert texts(ann) == ["only once", "next"]


def test_members_redirect_explains_itself_and_presence_counts_people_not_tabs(demo, contexts):
    """The members-only room sends visitors to log in with a reason and back; one user's two tabs are one person."""
    from playwright.sync_api import expect

    url = demo.server.url
    bob = contexts()
    visitor = bob.new_page()
    visitor.goto(url + "/rooms/members/")
    expect(visitor.locator(".flash")).to_have_text("#members is for members only: log in to join it.")
    visitor.fill("input[name=username]", "bob")
    visitor.fill("input[name=password]", "demo")
    visitor.click("main button[type=submit]")
    visitor.wait_for_url(url + "/rooms/members/")
    visitor.wait_for_selector("#status[data-state=up]")
    expect(visitor.locator("#me")).to_have_text("bob")
    expect(visitor.locator("#nickname-form")).to_be_hidden()
    second_tab = enter_room(bob, url, "members")

    alice = contexts()
    log_in(alice, url, "alice")
    alice_page = enter_room(alice, url, "members")
    for page in (alice_page, visitor, second_tab):
        expect(page.locator("#online-count")).to_have_text("2")
        expect(page.locator("#presence li")).to_have_count(2)
    expect(alice_page.locator("#presence li", has_text="bob")).to_have_text("bob 2 tabs")
    expect(visitor.locator("#presence li").first).to_have_text("bob (you) 2 tabs")
    second_tab.close()
    expect(alice_page.locator("#presence li", has_text="bob")).to_have_text("bob")
    assert alice_page.locator("#messages li.notice", has_text="bob left").count() == 0  # bob is still here


def test_a_message_sent_during_a_restart_arrives_once_in_both_browsers(demo, contexts):
    """The server restarts; a broadcast made meanwhile (from another process) is recovered, exactly once, by both."""
    from playwright.sync_api import expect

    slug = room_slug("restart")
    url = demo.server.url
    ann = enter_room(contexts(), url, slug, "ann")
    ben = enter_room(contexts(), url, slug, "ben")
    say(ann, "before the restart")
    for page in (ann, ben):
        expect(page.locator("#messages li.msg")).to_have_count(1)

    for page in (ann, ben):  # every state the status line goes through, in order
        page.evaluate("""() => { const status = document.getElementById('status'); window.statuses = [];
            new MutationObserver(() => window.statuses.push(status.textContent)).observe(status, {childList: true}); }""")
    port = int(url.rsplit(":", 1)[1])
    demo.server.stop()
    for page in (ann, ben):
        expect(page.locator("#status")).to_have_text("Reconnecting…")
        expect(page.locator("#people")).to_have_class(re.compile(r"\boffline\b"))
    say(ann, "typed while offline")  # waits, and goes out by itself when the server is back
    say(ann, "and this one")
    expect(ann.locator("#messages li.waiting")).to_have_count(2)
    expect(ann.locator("#messages li.waiting").first).to_contain_text("Waiting: you are offline; it goes out when you are back.")
    expect(ann.locator("#messages li.waiting .text")).to_have_text(["typed while offline", "and this one"])
    expect(ann.get_by_role("button", name="Retry all (2)")).to_be_disabled()  # nothing to retry on while offline
    expect(ann.locator("#text")).to_have_value("")
    subprocess.run(
        [sys.executable, "manage.py", "shell", "-c",
         "import socketio_views; from chat.channels import now_iso; "
         f"socketio_views.broadcast('rooms/{slug}', {{'user': 'system', 'text': 'sent during the outage', 'system': True, 'at': now_iso()}})"],
        cwd=DEMO_DIR, env={**os.environ, **demo.server.env, "PYTHONPATH": pythonpath(DEMO_DIR)},
        check=True, timeout=60,
    )
    demo.server = demo(port=port)
    for page in (ann, ben):
        expect(page.locator("#status")).to_have_attribute("data-state", "up", timeout=20_000)
        assert page.evaluate("() => [...new Set(window.statuses)]") in (
            ["Reconnecting…", "Back online"], ["Reconnecting…", "Back online", "Online"]
        )
        expect(page.locator("#room")).to_have_attribute("data-recovered", "true")  # Socket.IO's recovery, from Redis
        expect(page.locator("#messages li.msg", has_text="sent during the outage")).to_have_count(1)
        expect(page.locator("#people")).not_to_have_class(re.compile(r"\boffline\b"))
    expect(ann.locator("#messages li.outgoing")).to_have_count(0)  # sent by themselves, in order
    expect(ben.locator("#messages li.msg").last).to_contain_text("and this one")
    say(ben, "after the restart")
    for page in (ann, ben):
        expect(page.locator("#messages li.msg").last).to_contain_text("after the restart")
        assert texts(page) == [
            "before the restart", "sent during the outage", "typed while offline", "and this one", "after the restart",
        ]
        assert page.locator("#messages li.notice", has_text="could not be recovered").count() == 0


@pytest.fixture(scope="module")
def demo_on_its_own(tmp_path_factory):
    """The demo as `make demo` runs it: one process, no Redis, history in its SQLite database."""
    with demo_servers(tmp_path_factory.mktemp("demo-alone")) as start:
        start.server = start()
        yield start


def test_without_redis_history_and_recovery_survive_a_restart(demo_on_its_own, contexts):
    """With the demo's defaults, a restart loses nothing: both pages recover (no "could not be recovered"), a newcomer sees the history."""
    from playwright.sync_api import expect

    demo, slug = demo_on_its_own, room_slug("db-restart")
    url = demo.server.url
    ann = enter_room(contexts(), url, slug, "ann")
    ben = enter_room(contexts(), url, slug, "ben")
    say(ann, "before the restart")
    for page in (ann, ben):
        expect(page.locator("#messages li.msg")).to_have_count(1)
    port = int(url.rsplit(":", 1)[1])
    demo.server.stop()
    for page in (ann, ben):
        expect(page.locator("#status")).to_have_text("Reconnecting…")
    subprocess.run(
        [sys.executable, "manage.py", "shell", "-c",
         "import socketio_views; from chat.channels import now_iso; "
         f"socketio_views.broadcast('rooms/{slug}', {{'user': 'system', 'text': 'sent during the outage', 'system': True, 'at': now_iso()}})"],
        cwd=DEMO_DIR, env={**os.environ, **demo.server.env, "PYTHONPATH": pythonpath(DEMO_DIR)},
        check=True, timeout=60,
    )
    demo.server = demo(port=port)
    for page in (ann, ben):
        expect(page.locator("#status")).to_have_attribute("data-state", "up", timeout=20_000)
        expect(page.locator("#room")).to_have_attribute("data-recovered", "true")  # recovered from the database
        expect(page.locator("#messages li.msg", has_text="sent during the outage")).to_have_count(1)
    say(ben, "after the restart")
    carl = enter_room(contexts(), url, slug, "carl")  # a newcomer after the restart
    for page in (ann, ben, carl):
        expect(page.locator("#messages li.msg").last).to_contain_text("after the restart")
        assert texts(page) == ["before the restart", "sent during the outage", "after the restart"]
        page.wait_for_timeout(2_500)  # past the page's gap check
        assert page.locator("#messages li.notice", has_text="could not be recovered").count() == 0


def test_signing_out_in_another_tab_ends_the_room_plainly(demo, contexts):
    """alice logs out in another tab: her room says so with a link to log in again, never "Reconnecting…", the composer is disabled and the header updated."""
    from playwright.sync_api import expect

    url = demo.server.url
    alice = contexts()
    log_in(alice, url, "alice")
    room = enter_room(alice, url, "members")
    room.evaluate("""() => { const status = document.getElementById('status'); window.statuses = [];
        new MutationObserver(() => window.statuses.push(status.textContent)).observe(status, {childList: true}); }""")
    room.evaluate(  # a burst: some wait for the rate limit when the session ends
        "() => { const input = document.getElementById('text'); const form = document.getElementById('send');"
        " for (let n = 0; n < 10; n++) { input.value = 'burst ' + n; form.requestSubmit(); } }"
    )
    expect(room.locator("#messages li.waiting").first).to_be_visible()
    other_tab = alice.new_page()
    other_tab.goto(url + "/")
    other_tab.get_by_role("button", name="Log out alice").click()
    other_tab.wait_for_url(url + "/")
    ended = room.locator("#signed-out")
    expect(room.locator("#messages li.waiting")).to_have_count(0)  # kept, but nothing will send them now
    expect(room.locator("#messages li.unsent").first).to_contain_text("Not sent: you were signed out.")
    expect(room.get_by_role("button", name="Retry").first).to_be_disabled()
    expect(room.locator("#retry-all")).to_be_hidden()
    expect(ended).to_be_visible()
    expect(ended).to_have_text("You were signed out. Log in again.")
    expect(ended.get_by_role("link", name="Log in again")).to_have_attribute("href", "/login/?next=/rooms/members/")
    expect(room.locator("#status")).to_have_text("Signed out")
    expect(room.locator("#text")).to_be_disabled()
    expect(room.locator("#send-button")).to_be_disabled()
    expect(room.get_by_role("button", name="Log out alice")).to_have_count(0)
    expect(room.locator(".bar nav").get_by_role("link", name="Log in")).to_be_visible()
    room.wait_for_timeout(3_000)  # long enough for a reconnection attempt, or the countdown's end, to show
    assert "Reconnecting…" not in room.evaluate("() => window.statuses")
    expect(room.locator("#notice")).to_be_hidden()
    expect(room.locator("#status")).to_have_text("Signed out")
    screenshot(room, "room-signed-out-desktop")
    ended.get_by_role("link", name="Log in again").click()
    room.fill("input[name=username]", "alice")
    room.fill("input[name=password]", "demo")
    room.click("main button[type=submit]")
    room.wait_for_url(url + "/rooms/members/")
    expect(room.locator("#status")).to_have_text("Online")


def test_one_live_name_per_person_and_you_is_who_sent_it(demo, contexts):
    """A second person cannot join as "Ann6" (nor as a look-alike); one person's tabs share it; "(you)" follows the sender, not the name."""
    from playwright.sync_api import expect

    url, slug = demo.server.url, room_slug("names")
    ann_browser = contexts()
    ann = enter_room(ann_browser, url, slug, "Ann6")
    other = contexts().new_page()
    other.goto(f"{url}/rooms/{slug}/")
    for taken in ("Ann6", "\u0410nn6", "S\u0443stem"):  # itself, with a Cyrillic "А", "System" with a Cyrillic "у"
        other.fill("#nickname", taken)
        other.press("#nickname", "Enter")
        expect(other.locator("#nickname-error")).not_to_be_empty()
    expect(other.locator("#nickname-error")).to_have_text('The name "S\u0443stem" is kept for announcements: pick another nickname.')
    other.fill("#nickname", "\u0410nn6")
    other.press("#nickname", "Enter")
    expect(other.locator("#nickname-error")).to_have_text('Someone in this room is already called "Ann6": pick another nickname.')
    expect(other.locator("#nickname")).to_be_focused()
    other.fill("#nickname", "Ann7")
    other.press("#nickname", "Enter")
    expect(other.locator("#status")).to_have_text("Online")
    second_tab = enter_room(ann_browser, url, slug)  # the same person: the remembered name, accepted
    expect(second_tab.locator("#me")).to_have_text("Ann6")
    say(second_tab, "from my other tab")
    say(other, "from Ann7")
    for page in (ann, second_tab, other):
        expect(page.locator("#messages li.msg")).to_have_count(2)
    expect(ann.locator("#messages li.msg.own .meta strong")).to_have_text("Ann6 (you)")
    expect(ann.locator("#messages li.msg", has_text="from Ann7")).not_to_have_class(re.compile(r"\bown\b"))
    expect(other.locator("#messages li.msg.own")).to_have_count(1)
    expect(other.locator("#messages li.msg.own")).to_contain_text("from Ann7")
    expect(other.locator("#presence li")).to_have_text(["Ann7 (you)", "Ann6 2 tabs"])


def test_long_texts_and_names_are_said_not_cut(demo, contexts):
    """A pasted 2,000-character message stays in the box with a notice and a counter; a 40-character nickname is refused with its length, here and on the rooms page."""
    from playwright.sync_api import expect

    url, slug = demo.server.url, room_slug("long")
    page = contexts().new_page()
    page.goto(f"{url}/rooms/{slug}/")
    page.fill("#nickname", "n" * 40)
    page.press("#nickname", "Enter")
    expect(page.locator("#nickname-error")).to_have_text("Nicknames are at most 30 characters; this one has 40.")
    expect(page.locator("#nickname-hint")).to_have_text("Up to 30 characters; nobody else in the room may have the same one.")
    page.fill("#nickname", "nina")
    page.press("#nickname", "Enter")
    expect(page.locator("#status")).to_have_text("Online")
    counter = page.locator("#counter")
    page.fill("#text", "x" * 449)
    expect(counter).to_be_hidden()
    page.fill("#text", "x" * 460)
    expect(counter).to_have_text("40 characters left")
    page.fill("#text", "y" * 2_000)  # as a paste does: nothing cut
    expect(counter).to_have_text("1500 characters too many")
    page.press("#text", "Enter")
    expect(page.locator("#notice")).to_have_text(
        "This message has 2,000 characters; the limit is 500. Shorten it, or send it in parts."
    )
    assert 2_000 == len(page.input_value("#text"))
    expect(page.locator("#messages li.msg, #messages li.outgoing")).to_have_count(0)
    page.fill("#text", "short now")
    page.press("#text", "Enter")
    expect(page.locator("#messages li.msg")).to_have_text(re.compile("short now"))
    expect(page.locator("#notice")).to_be_hidden()
    rooms = contexts().new_page()
    rooms.goto(url + "/")
    rooms.fill("input[name=nickname]", "m" * 40)
    rooms.click("form.join button[type=submit]")
    expect(rooms.locator(".errorlist")).to_contain_text("Ensure this value has at most 30 characters (it has 40).")


def test_right_to_left_text_and_names(demo, contexts):
    """Arabic text takes its own direction (dir="auto"), and an Arabic name is isolated (<bdi>): the time stays whole, after it."""
    from playwright.sync_api import expect

    url, slug = demo.server.url, room_slug("rtl")
    page = enter_room(contexts(), url, slug, "\u0645\u062d\u0645\u062f")
    say(page, "\u0645\u0631\u062d\u0628\u0627 \u0628\u0627\u0644\u062c\u0645\u064a\u0639")
    message = page.locator("#messages li.msg")
    expect(message.locator(".text")).to_have_attribute("dir", "auto")
    assert "rtl" == message.locator(".text").evaluate("(e) => getComputedStyle(e).direction")
    expect(message.locator(".meta strong bdi")).to_have_text("\u0645\u062d\u0645\u062f")
    name, stamp = message.locator(".meta strong").bounding_box(), message.locator("time")
    assert 1 == stamp.evaluate("(e) => e.getClientRects().length")  # "09:04 PM" in one piece
    assert stamp.bounding_box()["x"] >= name["x"] + name["width"] - 1  # after the name, not around it
    expect(page.locator("#presence li bdi")).to_have_text("\u0645\u062d\u0645\u062f")
    assert "auto" == page.get_attribute("#text", "dir")


def test_a_reload_or_a_short_absence_is_no_news_but_presence_stays_exact(demo, contexts):
    """ben reloads: ann's count stays exact and no "left"/"joined" line appears; gone for good, "ben left" follows 15 s later."""
    from playwright.sync_api import expect

    url, slug = demo.server.url, room_slug("debounce")
    ann = enter_room(contexts(), url, slug, "ann")
    ben = enter_room(contexts(), url, slug, "ben")
    expect(ann.locator("#online-count")).to_have_text("2")
    expect(ann.locator("#messages li.notice")).to_have_text(["ben joined"])
    ann.evaluate("""() => { window.counts = []; const count = document.getElementById('online-count');
        new MutationObserver(() => window.counts.push(count.textContent)).observe(count, {childList: true}); }""")
    ben.reload()
    ben.wait_for_selector("#status[data-state=up][data-transport=websocket]")
    expect(ann.locator("#online-count")).to_have_text("2")
    counts = ann.evaluate("() => window.counts")
    # The list followed the reload (his old tab left, his new one came), or, when both fell within one
    # presence tick (PRESENCE_INTERVAL), never changed: never anything but 1 or 2.
    assert set(counts) <= {"1", "2"}, counts
    ben.context.close()
    expect(ann.locator("#online-count")).to_have_text("1")
    ann.wait_for_timeout(5_000)
    expect(ann.locator("#messages li.notice")).to_have_text(["ben joined"])  # nothing yet, nothing for the reload
    expect(ann.locator("#messages li.notice")).to_have_text(["ben joined", "ben left"], timeout=15_000)


def test_a_ten_second_drop_is_no_news(demo, contexts):
    """ben's network drops for 10 s and comes back: ann sees no "ben left" nor "ben joined", and ben recovers what she said meanwhile."""
    from playwright.sync_api import expect

    url, slug = demo.server.url, room_slug("drop")
    ann = enter_room(contexts(), url, slug, "ann")
    ben_context = contexts()
    ben = enter_room(ben_context, url, slug, "ben")
    expect(ann.locator("#messages li.notice")).to_have_text(["ben joined"])
    ben_context.set_offline(True)
    expect(ben.locator("#status")).to_have_text("Reconnecting…", timeout=10_000)
    say(ann, "while ben was away")
    ann.wait_for_timeout(10_000)
    ben_context.set_offline(False)
    expect(ben.locator("#status")).to_have_attribute("data-state", "up", timeout=20_000)
    expect(ben.locator("#messages li.msg", has_text="while ben was away")).to_have_count(1)
    ann.wait_for_timeout(2_000)
    expect(ann.locator("#messages li.notice")).to_have_text(["ben joined"])
    expect(ann.locator("#online-count")).to_have_text("2")


def test_past_the_presence_list_limit_the_count_is_shown_then_the_list_again(tmp_path, contexts):
    """With PRESENCE_LIST_LIMIT 2, a third subscription turns ann's list into a count marked partial; once one leaves, the whole list is back."""
    from playwright.sync_api import expect

    from .wire import WireClient

    channel = f"rooms/{room_slug('crowded')}"
    with demo_servers(tmp_path, env={"DEMO_PRESENCE_LIST_LIMIT": "2"}) as start:
        url = start().url
        ben = WireClient(url).connect(channel, auth={"name": "ben"})
        cid = None
        try:
            ann = enter_room(contexts(), url, channel.split("/")[1], "ann")
            expect(ann.locator("#presence li")).to_have_text(["ann (you)", "ben"])
            cid = WireClient(url).connect(channel, auth={"name": "cid"})
            expect(ann.locator("#online-count")).to_have_text("3")
            expect(ann.locator("#presence")).to_have_attribute("data-partial", "true")
            expect(ann.locator("#presence li")).to_have_text(["Too many to list"])
            cid.close()
            expect(ann.locator("#presence li")).to_have_text(["ann (you)", "ben"])
            expect(ann.locator("#presence")).not_to_have_attribute("data-partial", "true")
            expect(ann.locator("#online-count")).to_have_text("2")
        finally:
            ben.close()
            if cid is not None:
                cid.close()


def test_before_a_nickname_the_composer_waits_and_after_it_has_the_focus(demo, contexts):
    """No nickname yet: the message box is disabled and says why; once joined, the focus is in it."""
    from playwright.sync_api import expect

    page = contexts().new_page()
    page.goto(f"{demo.server.url}/rooms/{room_slug('composer')}/")
    expect(page.locator("#text")).to_be_disabled()
    expect(page.locator("#text")).to_have_attribute("placeholder", "Pick a nickname first")
    expect(page.locator("#send-button")).to_be_disabled()
    page.fill("#nickname", "zoe")
    page.press("#nickname", "Enter")
    expect(page.locator("#text")).to_be_focused()
    expect(page.locator("#text")).to_have_attribute("placeholder", "Say something")


def test_the_room_name_pattern_is_checked_by_the_browser(demo, contexts):
    """The room field's pattern compiles under the v flag (no console error), so the browser refuses "a.b" itself."""
    problems = []
    page = contexts().new_page()
    page.on("console", lambda message: message.type in ("error", "warning") and problems.append(message.text))
    page.goto(demo.server.url + "/")
    room = page.locator("input[name=room]")
    assert room.evaluate("(e) => { try { new RegExp('^(?:' + e.pattern + ')$', 'v'); return true; } catch (x) { return false; } }")
    room.fill("a.b")
    assert room.evaluate("(e) => e.validity.patternMismatch")
    room.fill("snake_case-1")
    assert not room.evaluate("(e) => e.validity.patternMismatch")
    assert problems == []


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE, {"width": 390, "height": 500}], ids=["desktop", "phone", "phone-keyboard"])
def test_a_room_fills_the_window_without_scrolling_the_page(demo, contexts, viewport):
    """The room takes the window's height (the messages what is left), the page itself never scrolls; on a desktop it is wider than a card."""
    from playwright.sync_api import expect

    page = enter_room(contexts(viewport=viewport, is_mobile=viewport["width"] < 600, has_touch=viewport["width"] < 600),
                      demo.server.url, room_slug("layout"), f"lay{viewport['width']}x{viewport['height']}")
    expect(page.locator("#text")).to_be_focused()
    sizes = page.evaluate("""() => ({page: document.documentElement.scrollHeight, window: innerHeight,
        wide: document.documentElement.scrollWidth, windowWide: innerWidth,
        log: document.getElementById('messages').getBoundingClientRect().height,
        room: document.getElementById('room').getBoundingClientRect().width,
        composer: document.getElementById('send').getBoundingClientRect().bottom})""")
    assert sizes["page"] <= sizes["window"] and sizes["wide"] <= sizes["windowWide"], sizes
    assert sizes["window"] - 40 < sizes["composer"] <= sizes["window"], sizes  # the composer at the bottom
    if viewport is DESKTOP:
        assert sizes["log"] > 500 and sizes["room"] > 1000, sizes  # 440 px in an 860 px card before
    elif viewport is PHONE:
        assert sizes["log"] > 500, sizes
    else:  # the keyboard open: the header and the "You:" line step aside
        assert sizes["log"] > 280, sizes  # 192 px before
        assert page.locator(".bar").is_hidden()


def test_new_messages_below_and_unread_in_the_title(demo, contexts):
    """Scrolled up, one is told of new messages with a button that scrolls down; a hidden tab counts unread messages in its title."""
    from playwright.sync_api import expect

    url, slug = demo.server.url, room_slug("unread")
    ann = enter_room(contexts(viewport={"width": 1280, "height": 600}), url, slug, "ann")
    ben = enter_room(contexts(), url, slug, "ben")
    ben.evaluate(
        "() => { const input = document.getElementById('text'); const form = document.getElementById('send');"
        " let n = 0; const timer = setInterval(() => { input.value = 'line ' + n; form.requestSubmit(); if (++n === 16) clearInterval(timer); }, 400); }"
    )
    expect(ann.locator("#messages li.msg")).to_have_count(16, timeout=15_000)
    ann.locator("#messages").evaluate("(e) => { e.scrollTop = 0; }")
    ann.wait_for_timeout(200)
    say(ben, "while ann reads above")
    below = ann.locator("#new-below")
    expect(below).to_have_text("1 new message ↓")
    say(ben, "and another")
    expect(below).to_have_text("2 new messages ↓")
    below.click()
    expect(below).to_be_hidden()
    assert ann.locator("#messages").evaluate("(e) => e.scrollHeight - e.scrollTop - e.clientHeight < 80")
    title = ann.title()
    ann.evaluate("() => { Object.defineProperty(document, 'hidden', {value: true, configurable: true});"
                 " document.dispatchEvent(new Event('visibilitychange')); }")
    say(ben, "while ann is in another tab")
    say(ben, "still away")
    expect(ann).to_have_title("(2) " + title)
    ann.evaluate("() => { Object.defineProperty(document, 'hidden', {value: false, configurable: true});"
                 " document.dispatchEvent(new Event('visibilitychange')); }")
    expect(ann).to_have_title(title)


def test_phone_layout_accessibility_and_screenshots(demo, contexts):
    """At 390×844 nothing scrolls sideways, badges and the header stay on one line, targets are 44 px; every control is labelled."""
    from playwright.sync_api import expect

    url = demo.server.url
    problems = []  # console errors and failed requests (such as a missing /favicon.ico) on any page

    def watch(context):
        context.on("console", lambda message: message.type == "error" and problems.append(
            f"{message.text} ({message.location.get('url')})"
        ))
        context.on("response", lambda response: response.status >= 400 and problems.append(f"{response.status} {response.url}"))
        return context

    desktop = watch(contexts()).new_page()
    desktop.goto(url + "/")
    expect(desktop.locator("#rooms li .count").first).to_contain_text(re.compile(r"^\d+ (person|people) online$"))
    rooms_snapshot = desktop.locator("#rooms").aria_snapshot()
    assert re.search(r'link "#lobby":\n.*\n\s*- text: \d+ (person|people) online\n', rooms_snapshot + "\n"), rooms_snapshot
    assert desktop.get_by_label("Room name (letters, digits, hyphens and underscores)").count() == 1
    screenshot(desktop, "rooms-desktop")

    phone = watch(contexts(viewport=PHONE, has_touch=True, is_mobile=True))
    log_in(phone, url, "alice")
    rooms = phone.new_page()
    rooms.goto(url + "/")
    screenshot(rooms, "rooms-phone")
    room = enter_room(phone, url, "members")
    say(room, f"a message from a phone ({RUN}), long enough to wrap onto a second line of the bubble")
    expect(room.locator("#messages li.msg.own", has_text=RUN)).to_have_count(1)
    screenshot(room, "room-phone")

    # The most lines any one text inside the element takes: 1 means no word of it wraps.
    one_line = """(element) => {
        const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
        let most = 0;
        while (walker.nextNode()) {
            if (!walker.currentNode.textContent.trim()) continue;
            const range = document.createRange(); range.selectNodeContents(walker.currentNode);
            most = Math.max(most, new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size);
        }
        return most;
    }"""
    for page in (rooms, room):
        assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
        for selector in (".tag", ".brand", ".bar nav a, .bar nav button"):
            for element in page.locator(selector).all():
                assert element.evaluate(one_line) == 1, f"{selector} wraps on {page.url}"
    for selector in ("#status", ".room-head h1 .tag", "#people-toggle"):
        assert room.locator(selector).evaluate(one_line) == 1, selector

    # Touch targets: every visible control at least 44 px high.
    small = room.evaluate("""() => [...document.querySelectorAll('button, input, a, [tabindex]')]
        .filter((e) => e.offsetParent !== null && !e.closest('#messages'))
        .map((e) => [e.id || e.textContent.trim(), e.getBoundingClientRect().height])
        .filter(([, height]) => height < 44)""")
    assert small == []

    # People: a folded panel above the conversation, opened with a tap.
    toggle = room.locator("#people-toggle")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(room.locator("#presence")).to_be_hidden()
    assert room.locator("#people").bounding_box()["y"] < room.locator("#messages").bounding_box()["y"]
    toggle.tap()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(room.locator("#presence li").first).to_be_visible()
    # The input at the bottom of the screen.
    send = room.locator("#send").bounding_box()
    assert PHONE["height"] - 140 < send["y"] + send["height"] <= PHONE["height"]

    # Every control has an accessible name; the messages are a live log.
    snapshot = assert_controls_labelled(room)
    assert '- textbox "Message"' in snapshot and 'log "Messages in #members"' in snapshot, snapshot
    assert re.search(r'- button "Online \d+" \[expanded\]', snapshot), snapshot
    expect(room.locator("#messages")).to_have_attribute("aria-live", "polite")
    assert problems == []


def test_the_keyboard_alone_is_enough(demo, contexts):
    """Without a mouse: a nickname (a taken one first), join, Tab to the message box, send; the nickname is remembered."""
    from playwright.sync_api import expect

    page = contexts().new_page()
    page.goto(f"{demo.server.url}/rooms/{room_slug('keys')}/")
    expect(page.locator("#nickname")).to_be_focused()
    page.keyboard.type("alice")  # a registered user's name: refused, said inline, and the field keeps the focus
    page.keyboard.press("Enter")
    expect(page.locator("#nickname-error")).to_have_text(
        'The name "alice" belongs to a registered user: log in, or pick another nickname.'
    )
    expect(page.locator("#nickname")).to_be_focused()
    assert 'textbox "Pick a nickname to join #keys-' in assert_controls_labelled(page)
    page.keyboard.press("Control+A")
    page.keyboard.type(" kim \u200b lee ")  # kept as the server keeps it: "kim lee"
    page.keyboard.press("Enter")
    expect(page.locator("#status")).to_have_text("Online")
    expect(page.locator("#me")).to_have_text("kim lee")
    for _ in range(12):
        if page.evaluate("() => document.activeElement.id") == "text":
            break
        page.keyboard.press("Tab")
    expect(page.locator("#text")).to_be_focused()
    assert '- button "Change nickname"' in assert_controls_labelled(page)
    page.keyboard.type("typed without a mouse")
    page.keyboard.press("Enter")
    expect(page.locator("#messages li.msg.own")).to_contain_text("typed without a mouse")
    # Changing the nickname is a form: Escape or Cancel returns to the room as it was, still connected.
    page.evaluate("""() => { const status = document.getElementById('status'); window.statuses = [];
        new MutationObserver(() => window.statuses.push(status.textContent)).observe(status, {childList: true}); }""")
    page.keyboard.press("Shift+Tab")
    for _ in range(12):
        if page.evaluate("() => document.activeElement.id") == "change-name":
            break
        page.keyboard.press("Shift+Tab")
    page.keyboard.press("Enter")
    expect(page.locator("#nickname")).to_be_focused()
    expect(page.locator("#nickname")).to_have_value("kim lee")
    expect(page.get_by_label("Your new nickname")).to_be_visible()
    page.keyboard.type("x")
    page.keyboard.press("Escape")
    expect(page.locator("#nickname-form")).to_be_hidden()
    expect(page.locator("#me")).to_have_text("kim lee")
    expect(page.locator("#change-name")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#nickname")).to_have_value("kim lee")  # what was typed and cancelled is gone
    page.get_by_role("button", name="Cancel").click()
    expect(page.locator("#identity")).to_be_visible()
    assert page.evaluate("() => window.statuses") == []  # never disconnected
    expect(page.locator("#status")).to_have_text("Online")
    # The nickname is remembered in this browser: the next room needs no form.
    again = page.context.new_page()
    again.goto(f"{demo.server.url}/rooms/{room_slug('keys2')}/")
    expect(again.locator("#status")).to_have_text("Online")
    expect(again.locator("#me")).to_have_text("kim lee")
    # Submitting the form is what changes the name (and reconnects under it).
    again.get_by_role("button", name="Change nickname").click()
    again.fill("#nickname", "kim")
    again.press("#nickname", "Enter")
    expect(again.locator("#me")).to_have_text("kim")
    expect(again.locator("#status")).to_have_text("Online", timeout=2000)  # a chosen reconnection: no "Back online"
    say(again, "renamed")
    expect(again.locator("#messages li.msg.own .meta strong")).to_have_text("kim (you)")


def axe_violations(page):
    """axe-core's serious and critical violations on ``page``, as "rule: target" lines."""
    page.add_script_tag(path=str(AXE))
    results = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{violation['id']} ({violation['impact']}): {node['target']}"
        for violation in results["violations"] if violation["impact"] in ("serious", "critical")
        for node in violation["nodes"]
    ]


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280", "390"])
def test_every_demo_page_passes_axe(demo, contexts, viewport):
    """axe-core finds no serious or critical violation on any demo page, in each state a visitor meets, at 1280 and 390 px."""
    from playwright.sync_api import expect

    require(AXE.exists(), "axe-core is not installed (`make static` runs npm ci)")
    url, slug = demo.server.url, room_slug(f"axe{viewport['width']}")
    phone = viewport is PHONE
    found = {}

    def check(page, name):
        found[name] = axe_violations(page)

    visitor = contexts(viewport=viewport, is_mobile=phone, has_touch=phone)
    page = visitor.new_page()
    page.goto(url + "/")
    check(page, "rooms")
    page.goto(f"{url}/rooms/{slug}/")
    expect(page.locator("#nickname")).to_be_focused()
    check(page, "room, asking for a nickname")
    page.fill("#nickname", "alice")
    page.press("#nickname", "Enter")
    expect(page.locator("#nickname-error")).not_to_be_empty()
    check(page, "room, a nickname refused")
    page.fill("#nickname", f"axe{viewport['width']}")
    page.press("#nickname", "Enter")
    expect(page.locator("#status")).to_have_text("Online")
    for n in range(8):
        say(page, f"message {n} with a link https://example.com/{n}")
    expect(page.locator("#messages li.msg")).to_have_count(8)
    page.evaluate(
        "() => { const input = document.getElementById('text'); const form = document.getElementById('send');"
        " for (let n = 0; n < 10; n++) { input.value = 'flood ' + n; form.requestSubmit(); } }"
    )
    expect(page.locator("#messages li.waiting").first).to_be_visible()
    check(page, "room, messages waiting")
    page.goto(url + "/login/")
    check(page, "login")

    staff = contexts(viewport=viewport, is_mobile=phone, has_touch=phone)
    log_in(staff, url, "alice")
    page = staff.new_page()
    page.goto(url + "/")
    check(page, "rooms, logged in")
    page.goto(url + "/announce/")
    check(page, "announce")
    room = enter_room(staff, url, "members")
    check(room, "members room")
    missing = []
    page.on("response", lambda response: response.status >= 400 and missing.append(f"{response.status} {response.url}"))
    page.goto(url + "/admin/live-channels/")
    page.wait_for_load_state("networkidle")
    check(page, "live channels")
    screenshot(page, f"live-channels-{'phone' if phone else 'desktop'}")
    assert page.evaluate("() => document.documentElement.scrollWidth <= innerWidth")  # no sideways scrolling on a phone
    assert [] == missing  # its favicon too
    other = staff.new_page()
    other.goto(url + "/")
    other.get_by_role("button", name="Log out alice").click()
    expect(room.locator("#signed-out")).to_be_visible()
    check(room, "members room, signed out")
    assert {name: [] for name in found} == found
