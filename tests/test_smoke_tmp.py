import pytest

pytestmark = pytest.mark.django_db(transaction=True)


def test_smoke(connect):
    a = connect("rooms/lobby", auth={"name": "alice"})
    assert a.call("rooms/lobby", "message", {"text": "hi"}) == {"ok": True}
    a.wait_for("rooms/lobby", "message")
    print(a.events)
