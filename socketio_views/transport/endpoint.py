"""
The Socket.IO endpoint: the Django view of every Engine.IO request, and every HTTP refusal it answers.

Requests that the server in front cannot serve, JSONP polling, handshakes
while draining, past ``MAX_HANDSHAKES_IN_PROGRESS`` or over the per-address
limits are refused here, each with its documented code
(``websocket_unsupported``, ``jsonp_refused``, ``server_draining``,
``server_busy``, ``too_many_connections``, ``too_many_handshakes``); the
rest go to python-engineio. On the lean path (:mod:`socketio_views.wsgi`)
:func:`admitting` refuses handshakes before any Django code runs. A WebSocket is served while the WSGI server
reads :class:`WebSocketResponse`'s body.

Example usage (what :attr:`ChannelRouter.urls <socketio_views.routers.ChannelRouter.urls>` holds)::

    path("socket.io/", endpoint_view, {"router": router})
"""
import logging
from contextlib import contextmanager
from urllib.parse import parse_qs

from django.db import transaction
from django.http import HttpResponse, JsonResponse, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt
from gevent import pywsgi

from .. import drain, frames, monkey
from ..clients import client_address, retry_after_header
from ..db import release_db_connections
from ..dispatch import log_refusal
from ..conf import views_settings
from ..exceptions import JsonpRefused, ServerBusy, WebSocketUnsupported
from ..logs import log_per_burst, logger
from . import websocket
from .environ import LEAN_KEY, LOGGED_KEY, REFUSAL_KEY, REQUEST_KEY, ROUTER_KEY, asks_for_jsonp, is_handshake, session_id_of
from .server import get_server
from .websocket import NotAnEngineIOPacket

#: Bytes of a refused long-polling request's body that are still read (and
#: discarded) so that its client gets the answer; past them the connection closes.
DISCARD_LIMIT = 1024 * 1024


@csrf_exempt
@transaction.non_atomic_requests
def endpoint_view(request, router):
    """Serve Engine.IO requests (polling and websocket) for the channels of ``router``."""
    environ = request.environ
    if asks_for_jsonp(environ.get("QUERY_STRING", "")):
        # JSONP polling would let another site's <script> open a session
        # without an Origin header; no current client needs it.
        return JsonResponse(JsonpRefused().as_dict(), status=400)
    unsupported = refuse_unsupported_server(environ)
    if unsupported is not None:
        return unsupported
    with admitting(environ) as refusal:
        if refusal is not None:
            return refusal
        return _serve(request, router)


def _serve(request, router):
    environ = request.environ
    environ[ROUTER_KEY] = router
    environ[REQUEST_KEY] = request
    # A websocket may stay open for hours: do not hold the connection that
    # middleware (sessions, auth) may have opened for it.
    release_db_connections(always=True)
    if environ.get("wsgi.websocket") is not None:
        return WebSocketResponse(environ)
    code, headers, body = engineio_answer(environ)
    response = HttpResponse(b"".join(body), status=code)
    for name, value in headers:
        response[name] = value
    if environ.get(LOGGED_KEY):
        # Logged once per burst; not by django.request for each refused request.
        response._has_been_logged = True
    return response


def engineio_answer(environ):
    """python-engineio's answer to a polling or handshake request: ``(status code, headers, body)``.

    The headers end with ``Connection: close`` when the rest of the request's
    body is left unread (:func:`leave_body_unread`), or while the process
    drains: a keep-alive connection would bring the client's next handshake
    here again, where it should reconnect through the load balancer.
    """
    started = {}

    def start_response(status, headers, exc_info=None):
        started["status"], started["headers"] = status, headers

    body = get_server().handle_request(environ, start_response)
    headers = list(started["headers"])
    if leave_body_unread(environ) or drain.is_draining():
        headers.append(("Connection", "close"))
    return int(started["status"].split(" ", 1)[0]), headers, body


#: WSGI environ key: the request is answered by a :class:`WebSocketResponse`, which ends its handshake when it closes.
WEBSOCKET_RESPONSE_KEY = "socketio_views.websocket_response"

#: WSGI environ key: the request's admission was decided (once, on the lean path before Django's middleware).
ADMITTED_KEY = "socketio_views.admitted"


class Handshakes:
    """The handshakes this process is working on, bounded by ``MAX_HANDSHAKES_IN_PROGRESS``."""

    def __init__(self):
        self.in_progress = 0


#: This process's :class:`Handshakes`.
handshakes = Handshakes()


@contextmanager
def admitting(environ):
    """Decide whether the handshake of ``environ`` is admitted; yield the response refusing it, or ``None``.

    A handshake is refused while the process drains (``server_draining``),
    past ``MAX_HANDSHAKES_IN_PROGRESS`` (``server_busy``: HTTP 503 with
    ``Retry-After``, or a WebSocket closed with 1013), and over the
    per-address limits (``too_many_connections``, ``too_many_handshakes``).
    An admitted handshake counts as in progress until the block ends.
    Any other request is admitted; a request already decided (the lean path
    decides before the middleware, the endpoint view finds it done) is
    admitted again without counting twice.
    """
    if environ.get(ADMITTED_KEY) or not is_handshake(environ):
        yield None
        return
    environ[ADMITTED_KEY] = True
    refusal = _handshake_refusal(environ)
    if refusal is not None:
        yield refusal
        return
    handshakes.in_progress += 1
    try:
        yield None
    finally:
        handshakes.in_progress -= 1
        if not environ.get(WEBSOCKET_RESPONSE_KEY):
            # A WebSocket's connection is made once its response is read:
            # WebSocketResponse ends that handshake.
            get_server().addresses.handshake_ended(environ)


def _handshake_refusal(environ):
    draining = drain.refusal()
    if draining is not None:
        return _refuse_for_now(environ, draining)
    limit = views_settings.MAX_HANDSHAKES_IN_PROGRESS
    if limit is not None and handshakes.in_progress >= limit:
        error = ServerBusy()
        log_refusal(error, "Connection", "busy", logging.WARNING)
        return _refuse_for_now(environ, error)
    error = get_server().addresses.refusal(environ)
    if error is not None:
        if environ.get("wsgi.websocket") is None:
            return _refuse_handshake(environ, error)
        # gevent-websocket accepted the upgrade before Django saw the
        # request: no status can answer it, and a browser hides a close
        # frame's reason. The connection opens, each subscription is
        # refused with the error (connect_error), and it closes a second later.
        _log_handshake_refusal(environ, error)
        environ[REFUSAL_KEY] = error
    return None


#: The refusals of :func:`refuse_unsupported_server` this process has logged (one warning each, not one per request).
_unsupported_logged = set()

#: Why an unpatched process refuses every Engine.IO request.
UNPATCHED_MESSAGE = (
    "This server cannot serve Socket.IO connections: gevent has not patched its process (Django's runserver "
    "serves long-polling in threads that gevent cannot share, and no WebSockets). Serve the project with "
    "`manage.py runserver_socketio` in development, or with gunicorn's "
    "socketio_views.workers.GeventWebSocketWorker worker in production."
)


def refuse_unsupported_server(environ):
    """Refuse a request the server in front cannot serve with HTTP 400 ``websocket_unsupported``; else return ``None``.

    * In a process gevent did not patch (Django's ``runserver``, a WSGI
      server without gevent), every Engine.IO request: python-socketio runs
      in gevent mode, and long-polling there failed in the threads
      (``Waiter.switch`` errors, then ``transport error``), so it is refused
      at once rather than half-work.
    * A WebSocket request that reached Django un-upgraded. gevent-websocket's
      handler (``runserver_socketio``, gunicorn's ``GeventWebSocketWorker``)
      upgrades it before Django sees it and leaves the socket in
      ``environ["wsgi.websocket"]``. Without it, python-engineio raised
      ``RuntimeError`` (HTTP 500, "gevent-websocket server is not configured
      appropriately") and, for an upgrade, closed the polling session too;
      now that session is left alone, and the official clients stay on
      long-polling when their upgrade fails.

    Each reason is logged once per process, as a warning that says what to do.
    """
    query = environ.get("QUERY_STRING", "")
    if not monkey.is_patched():
        error = WebSocketUnsupported(UNPATCHED_MESSAGE)
    elif "websocket" not in query or environ.get("wsgi.websocket") is not None:
        return None
    elif parse_qs(query).get("transport") != ["websocket"]:
        return None
    elif "websocket" in environ.get("HTTP_UPGRADE", "").lower():
        error = WebSocketUnsupported()
    else:
        error = WebSocketUnsupported(
            "This WebSocket request arrived without its Upgrade header: a proxy in front of the server "
            "drops it. Make the proxy pass the Upgrade and Connection headers (nginx: "
            "proxy_http_version 1.1; proxy_set_header Upgrade $http_upgrade; "
            'proxy_set_header Connection "upgrade").'
        )
    if error.message not in _unsupported_logged:
        _unsupported_logged.add(error.message)
        logger.warning("Socket.IO requests refused (%s): %s", error.code, error.message, code=error.code)
    response = JsonResponse(error.as_dict(), status=400)
    # Logged once per process above; not by django.request for each request.
    response._has_been_logged = True
    return response


def _refuse_for_now(environ, error):
    """Refuse a handshake while this process drains or is busy: HTTP 503, or a WebSocket closed with 1013 (try again later).

    Not logged per request: a drain refuses every handshake the load
    balancer still sends here, and a crowd every handshake past the bound.
    """
    environ[LOGGED_KEY] = True
    ws = environ.get("wsgi.websocket")
    if ws is not None:
        websocket.close(ws, frames.TRY_AGAIN_LATER, error)
        response = HttpResponse(status=101)
    else:
        response = JsonResponse(error.as_dict(), status=503)
        response["Retry-After"] = "1"
        response["Connection"] = "close"
    response._has_been_logged = True
    return response


def _refuse_handshake(environ, error):
    """Answer a long-polling handshake refused with ``error`` (``too_many_connections``, ``too_many_handshakes``): HTTP 429."""
    _log_handshake_refusal(environ, error)
    response = JsonResponse(error.as_dict(), status=429)
    retry_after = retry_after_header(error)
    if retry_after is not None:
        response["Retry-After"] = retry_after
    # Logged once per burst; not by django.request for each refused request.
    response._has_been_logged = True
    return response


def _log_handshake_refusal(environ, error):
    address = client_address(environ)
    log_refusal(error, f"Connection from {address}", address, logging.WARNING)


def leave_body_unread(environ):
    """Whether gevent's server is told not to read the rest of a large body that python-engineio refused unread.

    gevent's server reads and discards what is left of a request body, so
    that the connection can serve another request and the client, which may
    still be sending, gets the response: 50 MB arriving over the loopback
    held the process for about 350 ms. Past :data:`DISCARD_LIMIT` bytes (or
    a chunked body, which python-engineio never reads), the connection is
    closed instead; a client still sending sees it reset.
    """
    stream = environ.get("wsgi.input")
    if not isinstance(stream, pywsgi.Input):
        return False
    if not stream.chunked_input and (stream.content_length or 0) - stream.position <= DISCARD_LIMIT:
        return False
    stream.position, stream.chunked_input = stream.content_length or 0, False
    return True


class WebSocketResponse(StreamingHttpResponse):
    """The endpoint's response to a WebSocket request: reading its body serves the socket.

    The WSGI server reads the body once Django's handler and middleware have
    returned, so each idle connection's greenlet keeps a short stack (less
    memory, cheaper switches). The request finishes when the socket closes,
    also under gevent-websocket, which never closes a WebSocket request's
    response: through Django's handler, ``request_finished`` is sent then; on
    the lean path (:mod:`socketio_views.wsgi`), which sends no request
    signals, the database connections the socket's greenlet still holds are
    closed.
    """

    def __init__(self, environ):
        super().__init__(status=101)
        self.environ = environ
        environ[WEBSOCKET_RESPONSE_KEY] = True

    def __iter__(self):
        sid = session_id_of(self.environ)
        try:
            get_server().handle_request(self.environ, lambda status, headers, exc_info=None: None)
        except Exception as exc:
            if sid is None:
                raise
            # Raised while upgrading a polling session, where python-engineio
            # catches nothing (a refused or oversize frame): the websocket is
            # done, and the session, whose upgrade never ends, too.
            if not isinstance(exc, NotAnEngineIOPacket):  # that one was logged already
                log_per_burst(
                    logging.WARNING, sid, "Closing connection %s: its websocket upgrade failed (%s: %s)", sid,
                    type(exc).__name__, exc, connection_id=sid,
                )
            get_server().eio.disconnect(sid)
        finally:
            self.close()
        yield b""

    def close(self):
        if self.closed:
            return
        # Its connection, if python-engineio made one, counts in its stead.
        get_server().addresses.handshake_ended(self.environ)
        if self.environ.get(LEAN_KEY):
            # Django's request_finished would close what the socket's
            # handlers left open; the lean path sends no request signals.
            close_quietly(self)
            release_db_connections(always=True)
        else:
            super().close()


def close_quietly(response):
    """What ``HttpResponse.close()`` does but send ``request_finished`` (the lean path sends no request signals)."""
    if getattr(response, "closed", False):
        return
    for closer in response._resource_closers:
        try:
            closer()
        except Exception:
            pass
    response._resource_closers.clear()
    response.closed = True
