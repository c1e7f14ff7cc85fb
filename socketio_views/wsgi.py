"""
The lean path of Engine.IO requests: a WSGI application that serves them before Django's handler.

Example usage (the project's ``wsgi.py``)::

    from socketio_views.wsgi import get_wsgi_application

    application = get_wsgi_application()

``runserver_socketio`` and :class:`socketio_views.workers.GeventWebSocketWorker`
wrap the project's application themselves. A request for the Socket.IO
endpoint of a mounted :class:`~socketio_views.ChannelRouter` is served so:

* a request of an established Engine.IO connection (a polling GET or POST,
  or a WebSocket upgrade, with the ``sid`` of a connection this process
  holds) goes straight to python-engineio: no ``HttpRequest``, no middleware,
  no URL resolution. The ownership check (:meth:`socketio_views.identity.Identity.owns`)
  still applies: it reads only the request's cookie and ``Origin``;
* a handshake is first admitted or refused (:func:`~socketio_views.transport.endpoint.admitting`:
  a drain, ``MAX_HANDSHAKES_IN_PROGRESS``, the per-address limits) before
  any Django code runs; admitted, it becomes a real ``WSGIRequest`` that goes through the
  ``HANDSHAKE_MIDDLEWARE`` setting's list (sessions and authentication by
  default, as Channels' ``AuthMiddlewareStack``), so ``self.request.session``
  and ``self.request.user`` work in channels, then through the endpoint view
  itself, whose refusals are those of the full path. Django's
  ``request_started`` and ``request_finished`` signals are not sent (as
  Channels sends none for its consumers): their receivers, Django's
  database and cache clean-up, cost about a twentieth of a handshake, and
  the endpoint closes the database connections of each request itself.

Every other request, and every request when ``HANDSHAKE_MIDDLEWARE`` is
``None``, goes to the wrapped application (Django's whole ``MIDDLEWARE`` and
the URLconf, as the endpoint view is mounted there too).

New work (a handshake once admitted, a request for a view) first waits for
a turn of the event loop with time left
(:func:`socketio_views.transport.pacing.wait_for_turn`): a crowd of them does
not hold the connections already open.
"""
import logging
import weakref
from http import HTTPStatus

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, MiddlewareNotUsed
from django.core.handlers.exception import convert_exception_to_response
from django.core.handlers.wsgi import WSGIRequest, get_script_name
from django.urls import set_script_prefix
from django.utils.log import log_response
from django.utils.module_loading import import_string

from django.core.signals import setting_changed

from .conf import SETTING_NAME, views_settings
from .mounts import mounted_routers
from .transport.endpoint import WebSocketResponse, admitting, close_quietly, endpoint_view, engineio_answer
from .transport.environ import LEAN_KEY, LOGGED_KEY, ROUTER_KEY, asks_for_jsonp, session_id_of
from .transport.pacing import wait_for_turn
from .transport.server import get_server


#: Characters of a URL pattern that make it a regular expression, not a plain prefix.
REGEX_CHARS = frozenset("^$*+?()[]{}|\\")


def get_wsgi_application():
    """Django's ``get_wsgi_application()``, wrapped in a :class:`SocketIOApplication`."""
    from django.core.wsgi import get_wsgi_application as django_application

    return SocketIOApplication.wrap(django_application())


class SocketIOApplication:
    """A WSGI application serving the Socket.IO endpoints by the lean path and everything else with ``application``.

    :param application: the project's WSGI application (Django's ``WSGIHandler``).
    """

    def __init__(self, application):
        self.application = application
        self._endpoints = None
        self._handler = None
        self._middleware = None
        _applications.add(self)

    @classmethod
    def wrap(cls, application):
        """``application`` wrapped, unless it is one already."""
        return application if isinstance(application, cls) else cls(application)

    def __call__(self, environ, start_response):
        middleware = handshake_middleware()
        router = None if middleware is None else self.endpoints().get(environ.get("PATH_INFO"))
        if router is None:
            if session_id_of(environ) is None:
                # A view, or a handshake by the whole MIDDLEWARE: new work
                # waits for a turn of the loop with time left; a request of an
                # established Engine.IO connection does not.
                wait_for_turn()
            return self.application(environ, start_response)
        query = environ.get("QUERY_STRING", "")
        sid = session_id_of(environ)
        if sid is not None and not asks_for_jsonp(query) and sid in get_server().eio.sockets:
            return _serve_established(environ, start_response)
        return self._serve_handshake(environ, start_response, router, middleware)

    def endpoints(self):
        """``{PATH_INFO: router}`` of the mounted routers whose prefix is plain (not a regular expression)."""
        if self._endpoints is None:
            self._endpoints = {
                "/" + prefix: router for prefix, router in mounted_routers() if not REGEX_CHARS & set(prefix)
            }
        return self._endpoints

    def handler(self, middleware):
        """The endpoint view wrapped in ``middleware`` (import paths, outermost first), built once per list."""
        if self._handler is None or self._middleware != middleware:
            self._handler = build_handler(middleware)
            self._middleware = list(middleware)
        return self._handler

    def _serve_handshake(self, environ, start_response, router, middleware):
        # As Django's WSGIHandler does, minus URL resolution, the other
        # middleware and the request signals.
        prefix = get_script_name(environ)
        if prefix.strip("/"):
            # Unset, it is "/" already (each connection's greenlet is new).
            set_script_prefix(prefix)
        environ[ROUTER_KEY] = router
        environ[LEAN_KEY] = True
        # Refused before any Django code (MAX_HANDSHAKES_IN_PROGRESS, the
        # per-address limits, a drain); admitted, it counts as in progress
        # through the middleware and the endpoint view.
        with admitting(environ) as refusal:
            if refusal is not None:
                response = refusal
            else:
                # Admitted, it waits for a turn of the loop with time left:
                # a crowd of handshakes does not hold the established connections.
                wait_for_turn()
                request = WSGIRequest(environ)
                response = self.handler(middleware)(request)
                if response.status_code >= 400:
                    log_response("%s: %s", response.reason_phrase, request.path, response=response, request=request)
        status = f"{response.status_code} {response.reason_phrase}"
        headers = [*response.items(), *(("Set-Cookie", c.OutputString()) for c in response.cookies.values())]
        start_response(status, headers)
        return QuietResponse(response)

    def reset(self):
        """Forget the endpoints and the handler (the URLconf or the settings changed)."""
        self._endpoints = None
        self._handler = None


class QuietResponse:
    """A response of the lean path as the WSGI server reads it: closed without ``request_finished``."""

    def __init__(self, response):
        self.response = response

    def __iter__(self):
        return iter(self.response)

    def close(self):
        close_quietly(self.response)


def build_handler(middleware):
    """A callable ``request -> response``: the endpoint view inside ``middleware`` (import paths, outermost first).

    Each middleware is called as Django calls it (``middleware(get_response)``,
    then ``__call__``), so its ``process_request`` and ``process_response``
    run; there is no view resolution, so no ``process_view``.
    """
    def endpoint(request):
        check_host(request)
        return endpoint_view(request, request.environ[ROUTER_KEY])

    handler = convert_exception_to_response(endpoint)
    for path in reversed(list(middleware)):
        middleware_class = import_string(path)
        if not getattr(middleware_class, "sync_capable", True):
            raise ImproperlyConfigured(
                f"{SETTING_NAME}['HANDSHAKE_MIDDLEWARE'] lists {path!r}, which cannot run synchronously; "
                f"remove it, or set HANDSHAKE_MIDDLEWARE to None (the whole MIDDLEWARE)."
            )
        try:
            instance = middleware_class(handler)
        except MiddlewareNotUsed:
            continue
        handler = convert_exception_to_response(instance)
    return handler


#: The request ``META`` values that :meth:`~django.http.HttpRequest.get_host` reads.
HOST_KEYS = ("HTTP_X_FORWARDED_HOST", "HTTP_HOST", "SERVER_NAME", "SERVER_PORT")

#: How many accepted hosts :func:`check_host` remembers.
MAX_REMEMBERED_HOSTS = 256

_accepted_hosts = set()


def check_host(request):
    """Check the request's host against ``ALLOWED_HOSTS`` as ``CommonMiddleware`` does on the full path.

    Raises :exc:`~django.core.exceptions.DisallowedHost` (answered with HTTP
    400) from :meth:`~django.http.HttpRequest.get_host`. The hosts it
    accepted are remembered (until the settings change), so that each is
    validated once, not on every handshake.
    """
    key = tuple(map(request.META.get, HOST_KEYS))
    if key in _accepted_hosts:
        return
    request.get_host()
    if len(_accepted_hosts) < MAX_REMEMBERED_HOSTS:
        _accepted_hosts.add(key)


def _serve_established(environ, start_response):
    """Serve a request of an established Engine.IO connection with python-engineio alone."""
    if environ.get("wsgi.websocket") is not None:
        return WebSocketResponse(environ)
    code, headers, body = engineio_answer(environ)
    # python-engineio says "400 BAD REQUEST"; Django, as the full path does, "400 Bad Request".
    reason = HTTPStatus(code).phrase
    if code >= 400 and not environ.get(LOGGED_KEY):
        logging.getLogger("django.request").warning(
            "%s: %s", reason, environ.get("PATH_INFO"), extra={"status_code": code}
        )
    start_response(f"{code} {reason}", headers)
    return body


def handshake_middleware():
    """The middleware of the lean handshake, or ``None`` for Django's full handler.

    Unless the project sets ``HANDSHAKE_MIDDLEWARE``, those of the default
    list (sessions, authentication) that its ``MIDDLEWARE`` lists too.
    Worked out once, again when the settings change.
    """
    if _handshake_middleware is _UNKNOWN:
        _remember_handshake_middleware()
    return _handshake_middleware


def _remember_handshake_middleware():
    global _handshake_middleware
    middleware = views_settings.HANDSHAKE_MIDDLEWARE
    if middleware is not None and "HANDSHAKE_MIDDLEWARE" not in views_settings.user_settings:
        middleware = [path for path in middleware if path in settings.MIDDLEWARE]
    _handshake_middleware = None if middleware is None else list(middleware)


_UNKNOWN = object()
_handshake_middleware = _UNKNOWN
_applications = weakref.WeakSet()


def _reset_on_setting_change(*, setting, **kwargs):
    global _handshake_middleware
    if setting in ("ALLOWED_HOSTS", "DEBUG", "USE_X_FORWARDED_HOST"):
        _accepted_hosts.clear()
    if setting in (SETTING_NAME, "ROOT_URLCONF", "MIDDLEWARE"):
        _handshake_middleware = _UNKNOWN
        for application in _applications:
            application.reset()


setting_changed.connect(_reset_on_setting_change)
