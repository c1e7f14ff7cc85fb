"""
The permissions of the live channels page (:mod:`socketio_views.admin`).

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
