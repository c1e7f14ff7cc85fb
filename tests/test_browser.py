"""End to end in headless Chromium: the demo chat as two people use it."""
import re
import shutil
from pathlib import Path

import pytest

from .ci import require
from .demo import demo_servers

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


@pytest.fixture
def demo(tmp_path):
    """Start the demo (with a fresh database) on a free port, or again on a given port to restart it."""
    with demo_servers(tmp_path) as start:
        yield start


@pytest.fixture
def browser():
    require(CHROMIUM, "chromium is not installed (`make test` installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def steps(request):
    """Screenshots of every page after each step, written to test-artifacts/ if the test fails."""
    shots = []
    pages = {}

    def shoot(step):
        for name, page in pages.items():
            if not page.is_closed():
                shots.append((f"{len(shots):02d}-{step}-{name}.png", page.screenshot(full_page=True)))

    shoot.pages = pages
    yield shoot
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        shoot("failure")
        folder = ARTIFACTS / re.sub(r"[^\w.-]+", "_", request.node.name)
        folder.mkdir(parents=True, exist_ok=True)
        for name, png in shots:
            (folder / name).write_bytes(png)


def join(browser, url, nickname, room):
    context = browser.new_context(viewport={"width": 390, "height": 800})
    page = context.new_page()
    page.goto(url + "/")
    page.fill("input[name=nickname]", nickname)
    page.fill("input[name=room]", room)
    page.click("form.join button[type=submit]")
    page.wait_for_selector("#status[data-state=up]")
    return page


def test_two_people_chat_see_each_other_and_survive_a_restart(demo, browser, steps):
    """Join, presence, message, announcement, leave, rate limit, and reconnection after a server restart."""
    from playwright.sync_api import expect

    server = demo()
    url = server.url
    alice = steps.pages["alice"] = join(browser, url, "ann", "e2e")
    bob = steps.pages["bob"] = join(browser, url, "ben", "e2e")
    steps("joined")

    expect(alice.locator("#online-count")).to_have_text("2")
    expect(bob.locator("#presence")).to_contain_text("ann")
    expect(alice.locator("#presence")).to_contain_text("ben")

    rooms = steps.pages["rooms"] = browser.new_context().new_page()
    rooms.goto(url + "/")
    expect(rooms.locator('li[data-channel="rooms/e2e"] .count')).to_have_text("2 people online")
    steps("counts")

    alice.fill("#text", "hello from alice")
    alice.press("#text", "Enter")
    expect(bob.locator("#messages")).to_contain_text("hello from alice")
    expect(alice.locator("#text")).to_have_value("")
    steps("message")

    announcer = steps.pages["announcer"] = browser.new_context().new_page()
    announcer.goto(url + "/announce/")  # staff only: the login page, then back
    announcer.fill("input[name=username]", "alice")
    announcer.fill("input[name=password]", "demo")
    announcer.click("main button[type=submit]")
    announcer.fill("input[name=text]", "Maintenance at noon")
    announcer.click("button[type=submit]")
    expect(announcer.locator(".flash")).to_contain_text("Announced in")
    for page in (alice, bob):
        expect(page.locator("#messages li.system")).to_contain_text("Maintenance at noon")
    steps("announcement")

    bob.context.close()
    expect(alice.locator("#online-count")).to_have_text("1")
    expect(alice.locator("#messages")).to_contain_text("ben left", timeout=20_000)  # said once he stayed away 15 s
    expect(rooms.locator('li[data-channel="rooms/e2e"] .count')).to_have_text("1 person online")
    steps("bob-left")

    carol = steps.pages["carol"] = join(browser, url, "cat", "e2e-new")
    expect(rooms.locator('li[data-channel="rooms/e2e-new"] .count')).to_have_text("1 person online")
    expect(rooms.locator('li[data-channel="rooms/e2e"] .count')).to_have_text("1 person online")
    carol.context.close()
    steps("new-room")

    alice.evaluate(
        "() => { const input = document.getElementById('text'); const form = document.getElementById('send');"
        " for (let n = 0; n < 8; n++) { input.value = 'flood ' + n; form.requestSubmit(); } }"
    )
    expect(alice.locator("#notice")).to_contain_text(re.compile(r"Slow down: \d+ messages? waits? and go"))
    steps("rate-limited")

    bob = steps.pages["bob-again"] = join(browser, url, "ben", "e2e")
    expect(alice.locator("#online-count")).to_have_text("2")
    joined = [alice.locator("#messages li.notice", has_text="ben joined").count(),
              bob.locator("#messages li.notice", has_text="ann joined").count()]

    port = int(url.rsplit(":", 1)[1])
    server.stop()
    expect(alice.locator("#status")).to_have_attribute("data-state", "down")
    steps("server-down")
    demo(port=port)
    for page in (alice, bob):
        expect(page.locator("#status")).to_have_attribute("data-state", "up", timeout=20_000)
        expect(page.locator("#online-count")).to_have_text("2")
    # The restarted demo kept its history in its database: both pages recover, and nothing is said missing.
    for page in (alice, bob):
        expect(page.locator("#room")).to_have_attribute("data-recovered", "true")
    expect(alice.locator("#messages")).not_to_contain_text("could not be recovered")
    alice.fill("#text", "after the restart")
    alice.press("#text", "Enter")
    expect(bob.locator("#messages")).to_contain_text("after the restart")
    # Both came back with the server (the one reconnected first sees the other arrive): that is no new "joined".
    assert [alice.locator("#messages li.notice", has_text="ben joined").count(),
            bob.locator("#messages li.notice", has_text="ann joined").count()] == joined
    steps("after-restart")
