"""
The permissions of the live channels page (:mod:`socketio_views.admin`), and the
tables of the history kept in the database (:mod:`socketio_views.history_db`).

Django keeps permissions on models, so they sit on a model without a table
(``managed = False``); nothing is ever stored in it. Grant them in the admin
(Users or Groups) or with ``user.user_permissions.add(...)``::

    socketio_views.view_live_channels      see the page and subscribe to its channel
    socketio_views.operate_live_channels   send to channels, end subscriptions
"""
from django.db import models

#: May see the live channels page and subscribe to its channel (staff only).
VIEW_PERMISSION = "socketio_views.view_live_channels"
#: May also send to channels and end subscriptions from it.
OPERATE_PERMISSION = "socketio_views.operate_live_channels"


class LiveChannels(models.Model):
    """Holds the live channels page's permissions; it has no table and no rows."""

    # Declared, so that the migration does not depend on DEFAULT_AUTO_FIELD.
    id = models.AutoField(primary_key=True)

    class Meta:
        managed = False
        default_permissions = ()
        verbose_name = "live channels page"
        verbose_name_plural = "live channels page"
        permissions = [
            ("view_live_channels", "Can see the live channels page"),
            ("operate_live_channels", "Can send to channels and end subscriptions on the live channels page"),
        ]


class HistoryStream(models.Model):
    """One channel's history in the database (:mod:`socketio_views.history_db`): its numbering and its bounds.

    Its row is locked by every broadcast kept in the channel, so that offsets
    are handed out once each, in the order the entries are committed.
    """

    channel = models.CharField(max_length=200, primary_key=True)
    #: The latest offset handed out, as Redis stream ids are: milliseconds and a sequence within them.
    last_ms = models.BigIntegerField(default=0)
    last_seq = models.BigIntegerField(default=-1)
    #: Entries appended since the stream began; an entry's ``number`` is this count when it was kept.
    appended = models.BigIntegerField(default=0)
    #: The number of the oldest entry kept.
    first = models.BigIntegerField(default=1)
    #: When (Unix time) the history is forgotten unless something is broadcast before.
    expires = models.FloatField(db_index=True)

    class Meta:
        default_permissions = ()
        verbose_name = "history stream"


class HistoryEntry(models.Model):
    """One broadcast kept in a channel's history."""

    # Declared, so that the migration does not depend on DEFAULT_AUTO_FIELD.
    id = models.BigAutoField(primary_key=True)
    channel = models.CharField(max_length=200)
    #: Its place in the channel: 1 for the first entry ever kept, counting on across trims and expiries.
    number = models.BigIntegerField()
    #: Its offset, ``"<ms>-<seq>"``.
    ms = models.BigIntegerField()
    seq = models.BigIntegerField()
    #: The offset of the entry before it in the channel (``"0-0"`` for the first): a client that
    #: has that one misses nothing trimmed before the oldest entry kept.
    previous = models.CharField(max_length=42)
    event = models.CharField(max_length=200)
    #: The payload as JSON text: replayed exactly as it was sent (PostgreSQL's jsonb would reorder keys).
    data = models.TextField()
    skip_sid = models.CharField(max_length=100, blank=True)

    class Meta:
        default_permissions = ()
        verbose_name = "history entry"
        verbose_name_plural = "history entries"
        constraints = [
            models.UniqueConstraint(fields=["channel", "number"], name="socketio_views_entry_number"),
            models.UniqueConstraint(fields=["channel", "ms", "seq"], name="socketio_views_entry_offset"),
        ]


class RecoverySession(models.Model):
    """A recovery session (what a reconnecting client claims with its ``pid``), kept until ``expires``."""

    pid = models.CharField(max_length=64, primary_key=True)
    #: The subscription that owns the session: only it may extend it.
    sid = models.CharField(max_length=100)
    session = models.TextField()
    expires = models.FloatField(db_index=True)

    class Meta:
        default_permissions = ()
        verbose_name = "recovery session"
