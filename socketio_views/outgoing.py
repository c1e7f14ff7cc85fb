"""
When sends are checked against the views' ``emits`` declarations.

Example usage::

    class RoomChannel(ChannelView):
        emits = {"message": ChatPost, "typing": Typing}

        def on_message(self, message: ChatMessage, room):
            self.broadcast(ChatPost(user=self.name, text=message.text))   # checked
            self.broadcast({"user": self.name}, event="typing")            # checked too

Every send goes through :meth:`~socketio_views.sending.Hub.emit`, which calls
:func:`check`: a view's ``send()`` and ``broadcast()``, and
``socketio_views.broadcast()`` / ``send()`` from anywhere (their channel's
view is found through the URLconf's routers). A payload that does not fit
raises :class:`~socketio_views.payloads.OutgoingPayloadError`, naming the
view, the event and each field. The ``CHECK_EMITS`` setting chooses when:
``"debug"`` (the default: while ``DEBUG`` is on), ``"always"`` or
``"never"``; the test client (:class:`~socketio_views.testing.InMemoryHub`)
always checks.
"""
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from .conf import views_settings
from .mounts import mounted_match
from .payloads import check_outgoing

#: The values of the ``CHECK_EMITS`` setting.
MODES = ("always", "debug", "never")


def enabled(hub):
    """Whether sends through ``hub`` are checked: its ``check_emits`` if set, else the ``CHECK_EMITS`` setting."""
    forced = getattr(hub, "check_emits", None)
    if forced is not None:
        return forced
    mode = views_settings.CHECK_EMITS
    if mode == "debug":
        return settings.DEBUG
    if mode in MODES:
        return mode == "always"
    raise ImproperlyConfigured(
        f"SOCKETIO_VIEWS['CHECK_EMITS'] is {mode!r}; use one of {', '.join(map(repr, MODES))}."
    )


def check(hub, event, data, *, channel, converter):
    """Check a send of ``event`` on ``channel`` against its view's ``emits``, if ``hub`` checks sends.

    The view is the one whose subscription sends (``hub.view_class``), or the
    one the URLconf's routers resolve ``channel`` to.
    """
    if not enabled(hub):
        return
    view_class = getattr(hub, "view_class", None) or view_class_of(channel)
    if view_class is not None and view_class.emits:
        check_outgoing(view_class, event, data, converter)


def view_class_of(channel):
    """The view class serving ``channel`` in the URLconf's routers, or ``None`` (:func:`~socketio_views.mounts.mounted_match`)."""
    match = mounted_match(channel)
    return match.view_class if match is not None else None
