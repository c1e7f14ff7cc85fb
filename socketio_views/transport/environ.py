"""
What the endpoint leaves in a request's WSGI environ, and what it reads from its query string.

Example usage::

    from socketio_views.transport.environ import session_id

    session_id("EIO=4&transport=polling&sid=abc")  # "abc"
"""
import re
from urllib.parse import parse_qs

#: The router of the endpoint a Socket.IO handshake arrived by.
ROUTER_KEY = "socketio_views.router"
#: The Django request of the handshake.
REQUEST_KEY = "socketio_views.request"
#: The refusal of a WebSocket handshake (too many connections or handshakes).
REFUSAL_KEY = "socketio_views.refusal"
#: Set when a request was refused and its refusal logged (not to be logged again by Django).
LOGGED_KEY = "socketio_views.logged"
#: Set when the handshake took the lean path (:mod:`socketio_views.wsgi`), which sends no request signals.
LEAN_KEY = "socketio_views.lean"

#: The Engine.IO session id of the request, read once (:func:`session_id_of`).
SESSION_ID_KEY = "socketio_views.sid"

#: The values of a query string's plain ``sid`` parameters.
SESSION_ID_RE = re.compile(r"(?:^|&)sid=([^&]*)")


def session_id(query_string):
    """The Engine.IO session id a query string names, read as python-engineio reads it; ``None`` if none.

    python-engineio takes the first non-blank ``sid`` of ``parse_qs()``,
    which also decodes ``s%69d=`` and ``+``: so does this, without parsing
    the common query strings that need no decoding.
    """
    if "%" in query_string or "+" in query_string:
        return parse_qs(query_string).get("sid", [None])[0]
    for match in SESSION_ID_RE.finditer(query_string):
        if match.group(1):
            return match.group(1)
    return None


def session_id_of(environ):
    """:func:`session_id` of the request of WSGI ``environ``, parsed once per request (every layer asks)."""
    try:
        return environ[SESSION_ID_KEY]
    except KeyError:
        sid = environ[SESSION_ID_KEY] = session_id(environ.get("QUERY_STRING", ""))
        return sid


def asks_for_jsonp(query_string):
    """Whether the query string has Engine.IO's ``j`` parameter (JSONP polling), read without parsing most."""
    if "j" not in query_string and "%" not in query_string:
        return False
    return "j" in parse_qs(query_string, keep_blank_values=True)


def is_handshake(environ):
    """Whether the request opens a new Engine.IO connection (a GET without a session id)."""
    return environ.get("REQUEST_METHOD") == "GET" and session_id_of(environ) is None


def transport_of(environ):
    """``"websocket"`` or ``"polling"``: the Engine.IO transport a handshake asked for."""
    return "websocket" if "transport=websocket" in environ.get("QUERY_STRING", "") else "polling"
