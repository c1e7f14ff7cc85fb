"""
Cross-site WebSocket hijacking protection: which web pages may open channels.

A browser sends the user's cookies with a socket opened by any page, so a
connection whose ``Origin`` header names a site that the settings do not
trust is refused before any view runs. Clients that send no ``Origin``
(non-browser clients, same-origin polling requests) carry no ambient
credentials of another site and are accepted.
"""
from urllib.parse import urlsplit

from django.conf import settings
from django.http.request import split_domain_port, validate_host
from django.utils.http import is_same_domain

from .conf import views_settings


def allowed_hosts():
    """``ALLOWED_HOSTS``, with the defaults Django's own check uses in DEBUG."""
    hosts = list(settings.ALLOWED_HOSTS)
    if settings.DEBUG and not hosts:
        hosts = [".localhost", "127.0.0.1", "[::1]"]
    return hosts


def origin_matches(origin, pattern):
    """Whether ``origin`` matches an origin pattern such as ``"https://*.example.com"``."""
    parsed, wanted = urlsplit(origin), urlsplit(pattern)
    if parsed.scheme != wanted.scheme:
        return False
    netloc = wanted.netloc[2:] if wanted.netloc.startswith("*.") else wanted.netloc
    if wanted.netloc.startswith("*."):
        return is_same_domain(parsed.netloc, "." + netloc)
    return parsed.netloc == netloc


def is_origin_allowed(origin):
    """Return whether a page at ``origin`` (an ``Origin`` header value) may connect.

    ``SOCKETIO_VIEWS["ALLOWED_ORIGINS"]`` decides when set (``"*"`` or a list
    of origin patterns); by default, the origin's host must be in
    ``ALLOWED_HOSTS`` or the origin in ``CSRF_TRUSTED_ORIGINS``.
    """
    if origin is None:
        return True
    configured = views_settings.ALLOWED_ORIGINS
    if configured == "*":
        return True
    if configured is not None:
        return any(origin_matches(origin, pattern) for pattern in configured)
    if any(origin_matches(origin, pattern) for pattern in settings.CSRF_TRUSTED_ORIGINS):
        return True
    parsed = urlsplit(origin)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        return False
    domain, _port = split_domain_port(parsed.netloc)
    return bool(domain) and validate_host(domain, allowed_hosts())
