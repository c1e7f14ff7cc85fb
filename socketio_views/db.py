"""Database connection handling around socket handlers, as Django does around requests."""
from contextlib import contextmanager

from django.db import close_old_connections, connections

from .conf import views_settings


def close_db_connections():
    """Close every database connection this greenlet opened."""
    for connection in connections.all(initialized_only=True):
        connection.close()


@contextmanager
def managed_db_connections():
    """Drop stale connections before a dispatch and close the new ones after it.

    Handlers of one socket run in that socket's greenlet, and Django keeps a
    connection per greenlet; closing after each dispatch keeps the number of
    database connections at the number of handlers running at once, not the
    number of open sockets. Turn it off with ``CLOSE_DB_CONNECTIONS: False``.
    """
    if not views_settings.CLOSE_DB_CONNECTIONS:
        yield
        return
    close_old_connections()
    try:
        yield
    finally:
        close_db_connections()
