"""Database connections: handlers use the ORM, and sockets do not hold connections."""
import time

import pytest
from django.contrib.auth.models import User
from django.db import connection

pytestmark = pytest.mark.django_db(transaction=True)


def server_connections(patience=5.0):
    """Connections to the test database other than this test's own, once the closed ones are gone.

    A backend that was told to close leaves pg_stat_activity a moment later
    (PostgreSQL ends its process asynchronously), so a count above zero is
    read again until it falls to zero or ``patience`` runs out.
    """
    deadline = time.monotonic() + patience
    while True:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            count = cursor.fetchone()[0]
        if count == 0 or time.monotonic() > deadline:
            return count
        time.sleep(0.05)


def test_many_subscriptions_hold_no_database_connections(connect):
    """200 subscriptions that each queried the ORM leave no connection open between events."""
    User.objects.create_user("someone")
    clients = [connect(*[f"db/{c * 8 + i}" for i in range(8)], transport="websocket") for c in range(25)]

    counts = {client.call(f"db/{c * 8}", "count") for c, client in enumerate(clients)}
    for c, client in enumerate(clients):
        for i in range(8):
            assert client.call(f"db/{c * 8 + i}", "count") == 1

    assert counts == {1}
    assert server_connections() == 0


def test_each_dispatch_gets_a_working_connection(connect):
    """Successive events of one socket each get a fresh, working connection."""
    client = connect("db/1", transport="websocket")

    first = client.call("db/1", "backend_pid")
    second = client.call("db/1", "backend_pid")
    assert isinstance(first, int) and isinstance(second, int)
    assert first != second  # the first event's connection was closed, the second opened its own
    assert server_connections() == 0


@pytest.fixture
def transport():
    return "websocket"
