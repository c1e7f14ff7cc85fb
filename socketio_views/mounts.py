"""
Where the routers are mounted: the Socket.IO endpoints of the URLconf.

:attr:`ChannelRouter.urls <socketio_views.routers.ChannelRouter.urls>` holds
one :class:`EndpointPattern`; :func:`mounted_routers` finds them all, and
:func:`mounted_match` the view of a channel among them. This module imports
neither the views nor the transport, so that whatever needs the routers of
the project (history policies, the checks of outgoing payloads, the lean WSGI
path, checks, the live channels page) can find them without importing those.

Example usage::

    from socketio_views.mounts import mounted_routers

    for prefix, router in mounted_routers():
        print(prefix, [str(r.pattern) for r in router])
"""
from django.apps import apps
from django.core.checks import Error
from django.core.signals import setting_changed
from django.urls import URLPattern, URLResolver, get_resolver

from .exceptions import ChannelNotFound
from .state import LRU, ProcessWide

#: How many channel names' matches :func:`mounted_match` remembers (the most recently used).
MATCH_CACHE_SIZE = 1024


class EndpointPattern(URLPattern):
    """The URL pattern of a router's Socket.IO endpoint, what :attr:`ChannelRouter.urls` holds.

    Its ``default_args`` carry the router (``{"router": router}``). Django's
    URL checks call its ``check()``, so it reports E003 (a router included
    while ``socketio_views`` is not in ``INSTALLED_APPS``): a check
    registered by this package would never run in the project that forgot the
    app, since nothing imports the package before the checks are listed.
    """

    @property
    def router(self):
        """The :class:`~socketio_views.routers.ChannelRouter` this endpoint serves."""
        return self.default_args["router"]

    def check(self):
        messages = super().check()
        if not apps.is_installed("socketio_views"):
            messages.append(
                Error(
                    "A ChannelRouter is included in the URLconf, but 'socketio_views' is not in INSTALLED_APPS: "
                    "runserver_socketio, the browser client's static files and the {% socketio_scripts %} tag "
                    "are missing.",
                    hint='Add "socketio_views" to INSTALLED_APPS.',
                    id="socketio_views.E003",
                )
            )
        return messages


def mounted_routers(urlconf=None):
    """Return ``(prefix, router)`` for every :class:`~socketio_views.routers.ChannelRouter` included in the URLconf."""
    found = []

    def walk(patterns, prefix):
        for entry in patterns:
            if isinstance(entry, URLResolver):
                walk(entry.url_patterns, prefix + str(entry.pattern))
            elif isinstance(entry, EndpointPattern):
                found.append((prefix + str(entry.pattern), entry.router))

    walk(get_resolver(urlconf).url_patterns, "")
    return found


_matches = ProcessWide(lambda: LRU(MATCH_CACHE_SIZE))


def mounted_match(channel):
    """The :class:`~socketio_views.routers.ChannelMatch` of ``channel`` in the first router of the URLconf that
    resolves it, or ``None``.

    Looked up once per channel name (the last :data:`MATCH_CACHE_SIZE` are
    remembered): broadcasts from outside a view find their channel's view
    through it. Forgotten when a router registers a pattern
    (:func:`forget_matches`), when ``ROOT_URLCONF`` or ``SOCKETIO_VIEWS``
    changes, and between tests.
    """
    matches = _matches.get()
    known, match = matches.get(channel)
    if known:
        return match
    for _prefix, router in mounted_routers():
        try:
            match = router.resolve(channel)
        except ChannelNotFound:
            continue
        break
    matches.put(channel, match)
    return match


def forget_matches():
    """Forget the matches :func:`mounted_match` remembered: the routes changed."""
    _matches.reset()


def _forget_on_setting_change(*, setting, **kwargs):
    if setting == "ROOT_URLCONF":
        forget_matches()


setting_changed.connect(_forget_on_setting_change)
