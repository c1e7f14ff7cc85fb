"""
Cross-site WebSocket hijacking protection: which web pages may open channels.

A browser sends the user's cookies with a socket opened by any page, so a
connection whose ``Origin`` header names a page that the settings do not
trust is refused before any view runs. The rules are those of Django's CSRF
check (``CsrfViewMiddleware``): the page's own origin (scheme, host and port
of the handshake request) and ``CSRF_TRUSTED_ORIGINS``, unless
``SOCKETIO_VIEWS["ALLOWED_ORIGINS"]`` says otherwise. Clients that send no
``Origin`` (non-browser clients, same-origin polling requests) carry no
ambient credentials of another site and are accepted.
"""
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.utils.http import is_same_domain

from .conf import views_settings


def origin_matches(origin, pattern):
    """Whether ``origin`` matches an origin pattern, as an entry of ``CSRF_TRUSTED_ORIGINS`` does.

    A pattern without ``*`` must equal the origin (scheme, host and port);
    ``"https://*.example.com"`` matches ``example.com`` and its subdomains
    with that scheme, and with the pattern's port if it names one.
    """
    if "*" not in pattern:
        return origin == pattern
    try:
        parsed = urlsplit(origin)
    except ValueError:
        return False
    wanted = urlsplit(pattern)
    return parsed.scheme == wanted.scheme and is_same_domain(parsed.netloc, wanted.netloc.lstrip("*"))


def own_origin(request):
    """The origin of ``request`` itself (``"https://example.com:8443"``), or None if its host is not allowed.

    The scheme follows ``request.is_secure()`` (so ``SECURE_PROXY_SSL_HEADER``
    applies) and the host ``request.get_host()`` (``ALLOWED_HOSTS``,
    ``USE_X_FORWARDED_HOST``), as for Django's CSRF check.
    """
    try:
        host = request.get_host()
    except DisallowedHost:
        return None
    return "%s://%s" % ("https" if request.is_secure() else "http", host)


def is_origin_allowed(request):
    """Return whether the page that sent ``request`` (by its ``Origin`` header) may connect.

    ``SOCKETIO_VIEWS["ALLOWED_ORIGINS"]`` decides when set (``"*"`` or a list
    of origin patterns). By default, as Django's CSRF check decides: the
    request's own origin, or one that ``CSRF_TRUSTED_ORIGINS`` matches.
    A request without ``Origin`` is allowed.
    """
    origin = request.META.get("HTTP_ORIGIN")
    if origin is None:
        return True
    configured = views_settings.ALLOWED_ORIGINS
    if configured == "*":
        return True
    if configured is not None:
        return any(origin_matches(origin, pattern) for pattern in configured)
    if origin == own_origin(request):
        return True
    return any(origin_matches(origin, pattern) for pattern in settings.CSRF_TRUSTED_ORIGINS)


def is_environ_origin_allowed(environ):
    """:func:`is_origin_allowed` for the request of WSGI ``environ`` (one that Django has not wrapped yet)."""
    if environ.get("HTTP_ORIGIN") is None:
        return True
    from django.core.handlers.wsgi import WSGIRequest

    return is_origin_allowed(WSGIRequest(environ))
