"""The shared dispatch steps: one acknowledgement, the lifecycle hooks, in the test client and over the wire."""
import pytest

from socketio_views import ChannelRouter, ChannelView
from socketio_views.dispatch import acknowledgement
from socketio_views.testing import ChannelTestClient, SubscriptionRefused

SHAPES_ACK = {"tuple": [1, 2], "3": "three", "nested": [["a", {"b": None}]], "bytes": b"\x00\x01"}


def test_acknowledgement_is_what_json_carries():
    """A return value becomes its JSON round trip: attrs unstructured, tuples as lists, keys as strings."""
    assert acknowledgement(None) is None
    assert acknowledgement(("a", {1: (2,)})) == ["a", {"1": [2]}]
    with pytest.raises(TypeError, match="cannot be sent to a Socket.IO client"):
        acknowledgement({"when": {1, 2}})


@pytest.mark.parametrize(
    "event, expected",
    [
        ("shapes", SHAPES_ACK),
        ("attrs", {"text": "hi", "length": 2}),
        ("unsendable", {"error": {"message": "Internal server error.", "code": "server_error", "event": "unsendable"}}),
    ],
)
def test_the_test_client_receives_the_acknowledgement_a_real_client_receives(event, expected):
    """emit() returns exactly what the wire carries (checked over the wire in test_acknowledgements_over_the_wire)."""
    room = ChannelTestClient().subscribe("acks/x")
    assert room.emit(event) == expected


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "event, expected",
    [
        ("shapes", SHAPES_ACK),
        ("attrs", {"text": "hi", "length": 2}),
        ("unsendable", {"error": {"message": "Internal server error.", "code": "server_error", "event": "unsendable"}}),
    ],
)
def test_acknowledgements_over_the_wire(connect, event, expected):
    """A real client receives the same acknowledgements as the test client, and keeps its connection."""
    client = connect("acks/wire")
    assert client.call("acks/wire", event) == expected
    assert client.call("acks/wire", "attrs") == {"text": "hi", "length": 2}


class Lifecycle(ChannelView):
    """Records every step of its subscriptions in ``steps``."""

    steps = []

    def on_subscribe(self, name):
        self.steps.append("on_subscribe")
        self.send({"step": "on_subscribe"}, event="step")
        if self.auth.get("refuse"):
            return False

    def after_subscribe(self, name):
        self.steps.append("after_subscribe")
        self.send({"step": "after_subscribe"}, event="step")

    def on_disconnect(self, name):
        self.steps.append(f"on_disconnect: {self.disconnect_reason}")

    def after_disconnect(self, name):
        self.steps.append("after_disconnect")


class FailingHooks(ChannelView):
    def after_subscribe(self, name):
        raise RuntimeError("after_subscribe failed")

    def after_disconnect(self, name):
        raise RuntimeError("after_disconnect failed")

    def on_ping(self, data, name):
        return "pong"


@pytest.fixture
def router():
    Lifecycle.steps = []
    router = ChannelRouter()
    router.register("life/<str:name>", Lifecycle)
    router.register("failing/<str:name>", FailingHooks)
    return router


def test_hooks_run_in_lifecycle_order(router):
    """on_subscribe, after_subscribe, then on_disconnect and after_disconnect; sends arrive in that order."""
    client = ChannelTestClient(router=router)
    room = client.subscribe("life/a")
    assert room.received("step") == [{"step": "on_subscribe"}, {"step": "after_subscribe"}]
    client.disconnect()
    assert Lifecycle.steps == ["on_subscribe", "after_subscribe", "on_disconnect: client disconnect", "after_disconnect"]


def test_refused_subscriptions_run_no_after_hook(router):
    """A refused subscription runs neither after_subscribe nor the teardown hooks."""
    client = ChannelTestClient(router=router, auth={"refuse": True})
    with pytest.raises(Exception):
        client.subscribe("life/a")
    client.disconnect()
    assert Lifecycle.steps == ["on_subscribe"]


def test_failing_hooks_are_logged_and_the_subscription_stays(router, caplog):
    """An exception in after_subscribe or after_disconnect is logged; the subscription works and ends cleanly."""
    client = ChannelTestClient(router=router)
    room = client.subscribe("failing/a")
    assert room.emit("ping") == "pong"
    client.disconnect()
    assert room.closed
    logged = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert any(m.startswith("after_subscribe of <FailingHooks") for m in logged)
    assert any(m.startswith("after_disconnect of <FailingHooks") for m in logged)


@pytest.mark.parametrize("auth", [-1, [1], "alice", True])
def test_an_auth_that_is_not_an_object_is_refused(auth):
    """A subscription's auth must be a JSON object (or none): anything else is refused with invalid, before on_subscribe runs."""
    with pytest.raises(SubscriptionRefused) as refused:
        ChannelTestClient(auth=auth).subscribe("rooms/auth")
    assert (refused.value.code, refused.value.message) == ("invalid", "The auth of a subscription must be a JSON object.")


@pytest.mark.django_db
def test_a_refused_subscription_leaves_no_reference_cycle():
    """A refusal frees what it held (the request, the channel name) at once: no frame is left in a reference cycle
    for the garbage collector, which a server tuned for many sockets runs seldom."""
    import gc

    client = ChannelTestClient()
    for name in ("members/warm-up", "nowhere/warm-up", "private/warm-up"):  # first-time imports and class builders
        with pytest.raises(SubscriptionRefused):
            client.subscribe(name)
    gc.collect()
    gc.disable()
    try:
        for name in ("members/a", "nowhere/b", "private/c", "x" * 500):
            with pytest.raises(SubscriptionRefused):
                client.subscribe(name)
        gc.set_debug(gc.DEBUG_SAVEALL)
        gc.collect()
        frames = sorted({o.f_code.co_name for o in gc.garbage if type(o).__name__ == "frame"})
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    assert [] == frames
