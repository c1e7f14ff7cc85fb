"""
Where the routers are mounted: the Socket.IO endpoints of the URLconf.

:attr:`ChannelRouter.urls <socketio_views.routers.ChannelRouter.urls>` holds
one :class:`EndpointPattern`; :func:`mounted_routers` finds them all. This
module imports nothing of the package, so that whatever needs the routers
of the project (history policies, the lean WSGI path, checks, the live
channels page) can find them without importing the transport.

Example usage::

    from socketio_views.mounts import mounted_routers

    for prefix, router in mounted_routers():
        print(prefix, [str(r.pattern) for r in router])
"""
from django.apps import apps
from django.core.checks import Error
from django.urls import URLPattern, URLResolver, get_resolver


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
