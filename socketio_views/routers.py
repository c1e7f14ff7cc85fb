"""
Map channel names to :class:`~socketio_views.ChannelView` classes with Django's ``path()`` syntax.

Example usage::

    router = ChannelRouter()
    router.register("rooms/<slug:room>", RoomChannel, name="room")
    urlpatterns = [path("socket.io/", include(router.urls))]
"""
import re

import attrs
from django.core.exceptions import ImproperlyConfigured
from django.urls import URLResolver, path, re_path
from django.urls.converters import get_converters
from django.urls.exceptions import NoReverseMatch
from django.urls.resolvers import RegexPattern, RoutePattern

from .exceptions import ChannelNotFound
from .mounts import EndpointPattern, forget_matches
from .transport.endpoint import endpoint_view
from .views import ChannelView

#: Longest channel name accepted, in characters.
MAX_CHANNEL_LENGTH = 200

#: Names a pattern may not capture: they would clash with a handler's arguments.
FORBIDDEN_KWARGS = frozenset({"self", "data"})


@attrs.frozen
class ChannelMatch:
    """The outcome of resolving a channel name against a router."""

    channel: str
    view_class: type
    initkwargs: dict
    args: tuple
    kwargs: dict
    route: str
    name: str | None


@attrs.frozen(eq=False)
class Registration:
    """One ``register()`` call: a pattern and the view that serves it."""

    pattern: str
    view_class: type
    name: str | None
    regex: bool
    initkwargs: dict

    def __call__(self, *args, **kwargs):
        # Django's path() requires a callable; a channel is never an HTTP view.
        raise TypeError(f"Channel pattern {self.pattern!r} is not an HTTP view.")


class ChannelRouter:
    """A registry of channel patterns, included in a URLconf through :attr:`urls`.

    Patterns use Django's ``path()`` converters (``str``, ``int``, ``slug``,
    ``uuid``, ``path`` and anything added with ``register_converter()``), or
    ``re_path()`` regular expressions with ``regex=True``.
    """

    def __init__(self):
        self.registry = []
        self._resolver = None

    def register(self, pattern, view_class, *, name=None, regex=False, initkwargs=None):
        """Serve channels matching ``pattern`` with ``view_class``.

        :param pattern: a ``path()`` route such as ``"rooms/<slug:room>"``, or
            a regular expression when ``regex`` is true.
        :param view_class: a :class:`~socketio_views.ChannelView` subclass.
        :param name: a name for :meth:`reverse`.
        :param initkwargs: class attributes to set on each instance, as with
            ``View.as_view(**initkwargs)``.
        """
        if not (isinstance(view_class, type) and issubclass(view_class, ChannelView)):
            raise ImproperlyConfigured(
                f"router.register({pattern!r}, {view_class!r}): the view must be a "
                f"ChannelView subclass (pass the class, not an instance)."
            )
        initkwargs = dict(initkwargs or {})
        view_class.check_initkwargs(initkwargs)
        registration = Registration(pattern, view_class, name, regex, initkwargs)
        try:
            url_pattern = self._url_pattern(registration)
        except ImproperlyConfigured as exc:
            unknown = re.search(r"invalid converter '([^']*)'", str(exc))
            if unknown is None:
                raise
            raise ImproperlyConfigured(
                f"Channel pattern {pattern!r} uses an unknown converter {unknown[1]!r}. Registered "
                f"converters: {', '.join(sorted(get_converters()))}; add one with "
                f"django.urls.register_converter()."
            ) from None
        clashing = FORBIDDEN_KWARGS & set(url_pattern.pattern.regex.groupindex)
        if clashing:
            raise ImproperlyConfigured(
                f"Channel pattern {pattern!r} captures {sorted(clashing)}, which clash "
                f"with handler arguments; rename the captured group."
            )
        self.registry.append(registration)
        self._resolver = None
        forget_matches()  # the channels it serves now may have resolved to another view, or none

    @staticmethod
    def _url_pattern(registration):
        make = re_path if registration.regex else path
        return make(registration.pattern, registration, name=registration.name)

    @property
    def resolver(self):
        """A Django ``URLResolver`` over the registered patterns (built once, cached)."""
        if self._resolver is None:
            patterns = [self._url_pattern(r) for r in self.registry]
            self._resolver = URLResolver(RegexPattern(r"^"), patterns)
        return self._resolver

    def resolve(self, channel):
        """Return the :class:`~socketio_views.routers.ChannelMatch` for ``channel``.

        Raises :class:`~socketio_views.exceptions.ChannelNotFound` when no pattern matches.
        """
        if not isinstance(channel, str) or len(channel) > MAX_CHANNEL_LENGTH:
            raise ChannelNotFound("Invalid channel name.")
        # Each pattern's own match(), as URLResolver.resolve() would try them,
        # without building a ResolverMatch on every subscription.
        for url_pattern in self.resolver.url_patterns:
            match = url_pattern.pattern.match(channel)
            if match is not None:
                break
        else:
            raise ChannelNotFound(f"No channel matches {channel!r}.")
        registration = url_pattern.callback
        _, args, kwargs = match
        return ChannelMatch(
            channel=channel,
            view_class=registration.view_class,
            initkwargs=registration.initkwargs,
            args=args,
            kwargs=kwargs,
            route=str(url_pattern.pattern),
            name=registration.name,
        )

    def reverse(self, name, *args, **kwargs):
        """Build a channel name from a registered ``name``: ``reverse("room", room="lobby")``."""
        try:
            return self.resolver.reverse(name, *args, **kwargs)
        except NoReverseMatch as exc:
            raise NoReverseMatch(f"No channel named {name!r} matches {args or kwargs}: {exc}") from None

    @property
    def urls(self):
        """URL patterns that serve the Socket.IO endpoint for this router's channels."""
        pattern = RoutePattern("", name="socketio", is_endpoint=True)
        return [EndpointPattern(pattern, endpoint_view, {"router": self}, "socketio")]

    def __iter__(self):
        return iter(self.registry)
