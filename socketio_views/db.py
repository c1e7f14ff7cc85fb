"""Database connections around socket handlers: closed after each dispatch that opened one.

Handlers of one socket run in that socket's greenlet, and Django keeps a
connection per greenlet; closing after each dispatch keeps the number of
database connections at the number of handlers running at once, not the
number of open sockets. Turn it off with ``CLOSE_DB_CONNECTIONS: False``.
"""
from _thread import get_ident

from django.db import connections
from django.db.backends.signals import connection_created

from .conf import views_settings

# Threads (greenlets, once patched) that opened a connection since they last
# closed theirs: most events touch no database, and they pay one set lookup.
_opened = set()


def _note_connection(sender, connection, **kwargs):
    _opened.add(get_ident())


connection_created.connect(_note_connection)


def close_db_connections():
    """Close every database connection this greenlet opened."""
    _opened.discard(get_ident())
    for connection in connections.all(initialized_only=True):
        connection.close()


def release_db_connections(always=False):
    """After a dispatch: close what it opened, unless ``CLOSE_DB_CONNECTIONS`` is off (or ``always``)."""
    if get_ident() in _opened and (always or views_settings.CLOSE_DB_CONNECTIONS):
        close_db_connections()
