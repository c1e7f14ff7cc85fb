"""Access and rate-limit mixins, run through the in-memory test client."""
from unittest import mock

import pytest
from django.contrib.auth.models import Permission, User
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from socketio_views import ChannelRouter, ChannelView
from socketio_views.mixins import PermissionRequiredMixin, RateLimitMixin, UserPassesTestMixin
from socketio_views.testing import ChannelTestClient, SubscriptionRefused
from socketio_views.throttling import RateLimiter, parse_rate

pytestmark = pytest.mark.django_db


class FakeClock:
    """A controllable time.time() for the limits package and the rate limiter."""

    def __init__(self, now=1_000_000.0):
        self.now = now

    def __call__(self):
        return self.now

    def advance(self, seconds):
        self.now += seconds


@pytest.fixture
def clock():
    RateLimiter.reset()
    fake = FakeClock()
    with mock.patch("time.time", fake):
        yield fake
    RateLimiter.reset()


def user_with(username, *codenames):
    user = User.objects.create_user(username)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return User.objects.get(pk=user.pk)  # fresh permission cache


def refusal(client, channel):
    with pytest.raises(SubscriptionRefused) as info:
        client.subscribe(channel)
    return info.value


def test_login_required_refuses_anonymous_users():
    """Anonymous users are refused with code login_required and Django's wording."""
    error = refusal(ChannelTestClient(), "members/lobby")
    assert (error.code, error.message) == ("login_required", "Log in to subscribe to this channel.")


def test_login_required_accepts_users_and_then_runs_on_subscribe():
    """A logged-in user passes the check; on_subscribe runs after it."""
    room = ChannelTestClient(user=user_with("ann")).subscribe("members/lobby")
    room.assert_received("welcome", {"welcome": "ann"})


def test_permission_required_needs_every_permission():
    """Users lacking one permission get permission_denied with the view's message; anonymous get login_required."""
    assert refusal(ChannelTestClient(user=user_with("bo", "view_user")), "moderators/x").code == "permission_denied"
    assert refusal(ChannelTestClient(user=user_with("cy", "view_user")), "moderators/x").message == "Moderators only."
    assert refusal(ChannelTestClient(), "moderators/x").code == "login_required"
    ChannelTestClient(user=user_with("di", "view_user", "change_user")).subscribe("moderators/x")


def test_user_passes_test():
    """test_func decides; failing users are refused with permission_denied."""
    assert refusal(ChannelTestClient(user=user_with("ed")), "vip/x").code == "permission_denied"
    ChannelTestClient(user=user_with("vip-fay")).subscribe("vip/x")


def test_misconfigured_mixins_say_how_to_fix_them():
    """Missing permission_required, test_func or rate_limit raise errors naming the fix."""

    class NoPerm(PermissionRequiredMixin, ChannelView):
        pass

    class NoTest(UserPassesTestMixin, ChannelView):
        pass

    class NoRate(RateLimitMixin, ChannelView):
        def on_ping(self, data):
            return "pong"

    router = ChannelRouter()
    router.register("noperm", NoPerm)
    router.register("notest", NoTest)
    router.register("norate", NoRate)
    user = user_with("gus")
    client = ChannelTestClient(user=user, router=router)
    # Configuration errors are server errors for the client, and logged with their message.
    assert refusal(client, "noperm").code == "server_error"
    with pytest.raises(ImproperlyConfigured, match=r"Define NoPerm.permission_required, or override NoPerm.get_permission_required\(\)"):
        NoPerm().get_permission_required()
    with pytest.raises(NotImplementedError, match="NoTest is missing the implementation of the test_func"):
        NoTest().test_func()
    with pytest.raises(ImproperlyConfigured, match=r"Set rate_limit = '10/s'"):
        NoRate().get_rate_limit()


def test_rate_limit_refuses_events_over_the_limit_without_calling_the_handler(clock):
    """The fourth event within a second is refused with rate_limited and retry_after; the window then reopens."""
    client = ChannelTestClient()
    room = client.subscribe("limited/a")

    assert [room.emit("message", {}) for _ in range(3)] == [{"ok": True}] * 3
    with mock.patch("tests.testapp.channels.LimitedChannel.on_message") as handler:
        reply = room.emit("message", {})
    handler.assert_not_called()
    assert reply == {
        "error": {"message": "Too many events; slow down.", "code": "rate_limited", "retry_after": 1.0, "event": "message"}
    }
    room.assert_received("error", reply["error"])
    clock.advance(1.01)
    assert room.emit("message", {}) == {"ok": True}


def test_rate_limit_counts_each_subscription_separately_by_default(clock):
    """Two subscriptions have their own budgets under the default subscription scope."""
    first = ChannelTestClient().subscribe("limited/b")
    second = ChannelTestClient().subscribe("limited/b")
    for _ in range(3):
        first.emit("message", {})
    assert first.emit("message", {})["error"]["code"] == "rate_limited"
    assert second.emit("message", {}) == {"ok": True}


def test_rate_limit_per_user_spans_connections(clock):
    """rate_limit_scope = "user" shares one budget between a user's connections."""
    user = user_with("hal")
    phone = ChannelTestClient(user=user).subscribe("per-user/x")
    laptop = ChannelTestClient(user=user).subscribe("per-user/x")
    other = ChannelTestClient(user=user_with("ivy")).subscribe("per-user/x")

    assert phone.emit("message", {}) == {"ok": True}
    assert laptop.emit("message", {}) == {"ok": True}
    assert phone.emit("message", {})["error"]["code"] == "rate_limited"
    assert other.emit("message", {}) == {"ok": True}
    clock.advance(61)
    assert laptop.emit("message", {}) == {"ok": True}


def test_burst_allows_a_burst_then_the_sustained_rate(clock):
    """1/s with burst 3: three at once, then refused until the stretched window moves."""
    room = ChannelTestClient().subscribe("burst/a")
    assert [room.emit("message", {}) for _ in range(3)] == [{"ok": True}] * 3
    assert room.emit("message", {})["error"]["code"] == "rate_limited"
    clock.advance(3.01)
    assert room.emit("message", {}) == {"ok": True}


@pytest.mark.parametrize(
    "rate, burst, expected",
    [
        ("10/s", None, "10 per 1 second"),
        ("5/m", None, "5 per 1 minute"),
        ("100/h", None, "100 per 1 hour"),
        ("7/d", None, "7 per 1 day"),
        ("5/2m", None, "5 per 2 minute"),
        ("10 per 2 seconds", None, "10 per 2 second"),
        ("10/s", 30, "30 per 3 second"),
    ],
)
def test_parse_rate(rate, burst, expected):
    """Short rates and limits strings parse; a burst stretches the window."""
    assert str(parse_rate(rate, burst)) == expected


def test_invalid_rates_are_improperly_configured():
    """A rate that does not parse names the accepted forms."""
    with pytest.raises(ImproperlyConfigured, match="use 'N/s', 'N/m', 'N/h' or 'N/d'"):
        parse_rate("ten per second")
    with pytest.raises(ImproperlyConfigured, match="must be at least"):
        parse_rate("10/s", burst=2)


def test_common_stack_login_permission_rate_limit(clock):
    """Login, permission and rate limit combine in the order Django users expect."""
    assert refusal(ChannelTestClient(), "stacked/x").code == "login_required"
    assert refusal(ChannelTestClient(user=user_with("jo")), "stacked/x").code == "permission_denied"
    room = ChannelTestClient(user=user_with("kim", "view_user")).subscribe("stacked/x")
    assert [room.emit("message", {}) for _ in range(2)] == [{"ok": True}] * 2
    assert room.emit("message", {})["error"]["code"] == "rate_limited"


def test_stack_order_does_not_change_the_outcome(clock):
    """Access mixins in either order refuse the same users with the same codes."""
    from socketio_views.mixins import LoginRequiredMixin

    class PermissionFirst(PermissionRequiredMixin, LoginRequiredMixin, ChannelView):
        permission_required = "auth.view_user"

    router = ChannelRouter()
    router.register("p", PermissionFirst)
    assert refusal(ChannelTestClient(router=router), "p").code == "login_required"
    assert refusal(ChannelTestClient(user=user_with("lu"), router=router), "p").code == "permission_denied"
    ChannelTestClient(user=user_with("mo", "view_user"), router=router).subscribe("p")


def test_a_refused_subscription_sends_nothing():
    """Nothing a refused subscription would send reaches anyone (test_access_checks_run_before_on_subscribe checks the order)."""
    member = ChannelTestClient(user=user_with("ned")).subscribe("members/quiet")
    refusal(ChannelTestClient(), "members/quiet")
    assert member.received("welcome") == [{"welcome": "ned"}]


def test_rate_limit_lets_events_through_when_its_storage_is_down(clock, caplog):
    """An unreachable limits storage (Redis down) allows the event and logs, rather than failing every event."""
    room = ChannelTestClient().subscribe("limited/outage")
    limiter = RateLimiter.get("3/s")
    with mock.patch.object(limiter.strategy, "hit", side_effect=ConnectionError("redis is down")):
        assert [room.emit("message", {}) for _ in range(5)] == [{"ok": True}] * 5
    assert caplog.messages.count(
        "Rate limit storage unavailable (ConnectionError: redis is down); events are allowed without counting until it is back."
    ) == 1


def test_handle_no_permission_that_returns_still_refuses():
    """An override of handle_no_permission() that forgets to raise cannot let the user in."""
    from socketio_views.mixins import LoginRequiredMixin

    class Forgetful(LoginRequiredMixin, ChannelView):
        def handle_no_permission(self):
            return None

    router = ChannelRouter()
    router.register("forgetful", Forgetful)
    assert refusal(ChannelTestClient(router=router), "forgetful").code == "permission_denied"


def test_access_checks_run_before_on_subscribe():
    """on_subscribe of a refused user never runs, observed outside the hub (its held sends are dropped anyway)."""
    from socketio_views.mixins import LoginRequiredMixin

    ran = []

    class Audited(LoginRequiredMixin, ChannelView):
        def on_subscribe(self):
            ran.append(self.request.user.get_username())

    router = ChannelRouter()
    router.register("audited", Audited)
    assert refusal(ChannelTestClient(router=router), "audited").code == "login_required"
    assert ran == []
    ChannelTestClient(user=user_with("oz"), router=router).subscribe("audited")
    assert ran == ["oz"]


def test_connection_scope_shares_one_limit_across_a_connections_subscriptions(clock):
    """rate_limit_scope = "connection": two channels of one connection share the limit; another connection has its own."""

    class PerConnection(RateLimitMixin, ChannelView):
        rate_limit = "3/s"
        rate_limit_scope = "connection"

        def on_message(self, data, name):
            return {"ok": True}

    router = ChannelRouter()
    router.register("conn/<str:name>", PerConnection)
    client = ChannelTestClient(router=router)
    first, second = client.subscribe("conn/a"), client.subscribe("conn/b")
    replies = [first.emit("message"), second.emit("message"), first.emit("message"), second.emit("message")]
    assert replies[:3] == [{"ok": True}] * 3
    assert replies[3]["error"]["code"] == "rate_limited"
    assert ChannelTestClient(router=router).subscribe("conn/a").emit("message") == {"ok": True}


class OnePerMinutePerIp(RateLimitMixin, ChannelView):
    rate_limit = "1/m"
    rate_limit_scope = "ip"

    def on_message(self, data):
        return {"ok": True}


@pytest.fixture
def ip_router():
    router = ChannelRouter()
    router.register("one-per-ip", OnePerMinutePerIp)
    return router


@pytest.mark.parametrize("attempt", [1, 2])
def test_rate_limit_counts_start_afresh_in_every_test(ip_router, attempt):
    """Every test client comes from 127.0.0.1, yet a per-IP limit used up by one test is whole in the next."""
    room = ChannelTestClient(router=ip_router).subscribe("one-per-ip")
    assert room.emit("message") == {"ok": True}
    assert room.emit("message")["error"]["code"] == "rate_limited"


def test_a_per_ip_limit_counts_an_ipv6_client_by_its_64_network(ip_router):
    """An IPv6 client gets a /64: another address of it shares the budget; IPv4 behind a v4-mapped address is that IPv4."""
    with override_settings(SOCKETIO_VIEWS={"CLIENT_IP_HEADER": "HTTP_X_FORWARDED_FOR"}):

        def from_address(address):
            return ChannelTestClient(router=ip_router, headers={"X-Forwarded-For": address}).subscribe("one-per-ip")

        assert from_address("2001:db8:1:2::1").emit("message") == {"ok": True}
        assert from_address("2001:db8:1:2::ffff").emit("message")["error"]["code"] == "rate_limited"
        assert from_address("2001:db8:1:3::1").emit("message") == {"ok": True}  # another /64
        assert from_address("192.0.2.7").emit("message") == {"ok": True}
        assert from_address("::ffff:192.0.2.7").emit("message")["error"]["code"] == "rate_limited"


def test_in_memory_rate_limits_start_no_timer_thread_under_gevent(monkeypatch):
    """limits' in-memory storage started a Timer thread for its expiry pass every 10 ms of hits, and under gevent
    Thread.start() waits until the new greenlet runs: behind every greenlet ready before it (a chat message waited
    seconds while 3,000 clients subscribed). Its expiry pass runs in a greenlet started without waiting."""
    import threading

    import gevent
    import limits

    from socketio_views import throttling

    monkeypatch.setattr(throttling.monkey, "is_module_patched", lambda name: name == "threading")
    storage = throttling.without_timer_threads(limits.storage.MemoryStorage())
    assert isinstance(storage.timer, throttling.GeventExpiry)
    limiter, item = limits.strategies.MovingWindowRateLimiter(storage), limits.parse("2/second")
    threads = threading.active_count()
    assert [limiter.hit(item, "k") for _ in range(3)] == [True, True, False]
    assert threading.active_count() == threads
    gevent.sleep(1.1)
    assert limiter.hit(item, "k")  # the window moved on
    gevent.sleep(0.05)  # the expiry pass this hit scheduled has run: the two old entries are gone
    assert len(storage.events.get("k", [])) <= 1  # without the pass, 3
