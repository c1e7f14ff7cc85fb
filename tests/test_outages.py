"""Redis outages degrade what needs Redis, with one warning per outage, and break nothing else."""
import pytest
from django.test import override_settings

from socketio_views import ChannelRouter, ChannelView
from socketio_views.transport.managers import make_manager
from socketio_views.testing import ChannelTestClient

from .ci import require

#: Nothing listens on port 1: every command fails at once.
UNREACHABLE = "redis://127.0.0.1:1/0"


def warnings_about(caplog, what):
    return [m for m in caplog.messages if m.startswith(what)]


def test_presence_outage_keeps_subscriptions_working(caplog):
    """Without Redis, presence subscriptions succeed, list nobody and count 0; one warning for the whole outage."""
    with override_settings(SOCKETIO_VIEWS={"PRESENCE_URL": UNREACHABLE}):
        alice = ChannelTestClient(auth={"name": "alice"}).subscribe("presence/outage")
        ChannelTestClient(auth={"name": "bob"}).subscribe("presence/outage")
        assert alice.received("presence_state") == [{"presences": []}]
        assert alice.emit("who") == []
        assert alice.emit("message", {"text": "still chatting"}) == {"ok": True}
        alice.client.disconnect()
    assert len(warnings_about(caplog, "Presence (Redis) unavailable")) == 1


class Kept(ChannelView):
    history = 10

    def on_message(self, data):
        self.broadcast(data)

    def on_state(self, data):
        return {"recovered": self.recovered, "recovery_failure": self.recovery_failure}


def test_history_outage_delivers_live_without_offsets(caplog):
    """Without Redis, a history channel still subscribes and delivers, unnumbered; one warning for the outage."""
    router = ChannelRouter()
    router.register("kept", Kept)
    with override_settings(SOCKETIO_VIEWS={"HISTORY_URL": UNREACHABLE}):
        client = ChannelTestClient(router=router)
        room = client.subscribe("kept")
        assert room.emit("state") == {"recovered": False, "recovery_failure": "history_unavailable"}
        for n in range(3):
            room.emit("message", {"n": n})
        assert room.received("message") == [{"n": 0}, {"n": 1}, {"n": 2}]
        assert [r.offset for r in client.inbox] == [None, None, None]
    assert len(warnings_about(caplog, "History (Redis) unavailable")) == 1


def test_rate_limit_outage_allows_events_with_one_warning(caplog):
    """Without the rate-limit storage, events are allowed and the outage is logged once."""
    with override_settings(SOCKETIO_VIEWS={"RATE_LIMIT_STORAGE": UNREACHABLE}):
        room = ChannelTestClient().subscribe("limited/outage")
        assert [room.emit("message", {}) for _ in range(5)] == [{"ok": True}] * 5
    assert len(warnings_about(caplog, "Rate limit storage unavailable")) == 1


def test_publishing_during_a_backend_outage_warns_once_then_once_when_back(caplog):
    """A process that only sends (write-only manager) logs one warning for many failed publishes, one when Redis is back."""
    from .test_scaleout import REDIS_URL, redis_reachable

    require(redis_reachable(REDIS_URL), f"Redis is not reachable at {REDIS_URL}")
    failures = _backend_errors("publish")
    manager = make_manager(UNREACHABLE, write_only=True)
    for n in range(5):
        manager.emit("message", {"n": n}, namespace="/rooms/outage", room="/rooms/outage")
    manager.redis_url = REDIS_URL  # Redis is back
    manager.emit("message", {"n": 5}, namespace="/rooms/outage", room="/rooms/outage")
    assert 5 == _backend_errors("publish") - failures  # every failed publish is counted (socketio_views.metrics)
    assert [1, 1] == [
        len(warnings_about(caplog, "Cross-process delivery (Redis) unavailable")),
        len(warnings_about(caplog, "Cross-process delivery (Redis) is available again")),
    ]
    assert [] == [r.getMessage() for r in caplog.records if r.name.startswith("socketio") and r.name != "socketio_views"]


def _backend_errors(operation):
    from prometheus_client import REGISTRY

    from socketio_views import metrics

    metrics.collectors()
    return REGISTRY.get_sample_value("socketio_views_backend_errors_total", {"operation": operation}) or 0
