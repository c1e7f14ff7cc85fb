"""The lean path of Engine.IO requests (socketio_views.wsgi)."""
import io
import json
import sys
import urllib.request

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from socketio_views.wsgi import SocketIOApplication, build_handler, handshake_middleware

from .wire import WireClient


def environ(path, query=""):
    return {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "HTTP_HOST": "testserver",
        "REMOTE_ADDR": "127.0.0.1",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
    }


class Recorder:
    """A WSGI application that records the paths it was called for."""

    def __init__(self):
        self.paths = []

    def __call__(self, environ, start_response):
        self.paths.append(environ["PATH_INFO"])
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"django"]


def call(app, env):
    started = {}
    body = app(env, lambda status, headers, exc_info=None: started.update(status=status, headers=dict(headers)))
    data = b"".join(body)
    if hasattr(body, "close"):
        body.close()
    return started["status"], started["headers"], data


def test_other_paths_go_to_the_wrapped_application():
    """A request outside the Socket.IO endpoint reaches the project's application unchanged."""
    inner = Recorder()
    assert ("200 OK", b"django") == call(SocketIOApplication(inner), environ("/notify/"))[::2]
    assert ["/notify/"] == inner.paths


def test_a_handshake_takes_the_lean_path_and_gets_a_session(monkeypatch):
    """A polling handshake is answered without the wrapped application, with an Engine.IO OPEN packet."""
    # This pytest process is not patched by gevent, so the endpoint would
    # refuse every request with websocket_unsupported (tests/test_unsupported_server.py);
    # one synchronous call is served correctly all the same.
    monkeypatch.setattr("socketio_views.monkey.is_patched", lambda: True)
    inner = Recorder()
    status, headers, body = call(SocketIOApplication(inner), environ("/socket.io/", "EIO=4&transport=polling"))
    assert [] == inner.paths
    assert "200 OK" == status
    assert {"sid", "upgrades", "pingInterval", "pingTimeout", "maxPayload"} <= set(json.loads(body[1:]))


def test_jsonp_is_refused_on_the_lean_path():
    """A JSONP handshake gets HTTP 400 jsonp_refused, as through Django."""
    status, _, body = call(SocketIOApplication(Recorder()), environ("/socket.io/", "EIO=4&transport=polling&j=0"))
    assert ("400 Bad Request", "jsonp_refused") == (status, json.loads(body)["code"])


def test_a_host_that_allowed_hosts_refuses_gets_400_on_the_lean_path():
    """A handshake for a Host outside ALLOWED_HOSTS is answered HTTP 400, as CommonMiddleware answers it on the full path."""
    env = environ("/socket.io/", "EIO=4&transport=polling")
    env["HTTP_HOST"] = "evil.example"
    status, _, _ = call(SocketIOApplication(Recorder()), env)
    assert "400 Bad Request" == status


def test_a_host_accepted_once_is_checked_again_when_allowed_hosts_change(monkeypatch):
    """Accepted hosts are remembered, not validated on every handshake, until ALLOWED_HOSTS changes."""
    monkeypatch.setattr("socketio_views.monkey.is_patched", lambda: True)
    app = SocketIOApplication(Recorder())
    env = lambda: {**environ("/socket.io/", "EIO=4&transport=polling"), "HTTP_HOST": "chat.example"}  # noqa: E731
    with override_settings(ALLOWED_HOSTS=["chat.example"]):
        assert "200 OK" == call(app, env())[0]
        assert "200 OK" == call(app, env())[0]
    with override_settings(ALLOWED_HOSTS=["other.example"]):
        assert "400 Bad Request" == call(app, env())[0]


def test_a_handshake_under_a_script_name_sets_the_script_prefix(monkeypatch):
    """A site mounted under a path (SCRIPT_NAME) reverses URLs under it in channels, as on the full path."""
    from django.urls import get_script_prefix, set_script_prefix

    monkeypatch.setattr("socketio_views.monkey.is_patched", lambda: True)
    env = {**environ("/socket.io/", "EIO=4&transport=polling"), "SCRIPT_NAME": "/chat"}
    try:
        assert "200 OK" == call(SocketIOApplication(Recorder()), env)[0]
        assert "/chat/" == get_script_prefix()
    finally:
        set_script_prefix("/")


@override_settings(SOCKETIO_VIEWS={"HANDSHAKE_MIDDLEWARE": None})
def test_none_sends_every_engineio_request_through_django():
    """With HANDSHAKE_MIDDLEWARE None the endpoint is served by the wrapped application (Django's full stack)."""
    inner = Recorder()
    call(SocketIOApplication(inner), environ("/socket.io/", "EIO=4&transport=polling"))
    assert ["/socket.io/"] == inner.paths


def test_the_default_middleware_are_those_the_project_lists():
    """By default, sessions and authentication, only if MIDDLEWARE has them."""
    assert [
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
    ] == handshake_middleware()
    with override_settings(MIDDLEWARE=["django.contrib.sessions.middleware.SessionMiddleware"]):
        assert ["django.contrib.sessions.middleware.SessionMiddleware"] == handshake_middleware()
    with override_settings(SOCKETIO_VIEWS={"HANDSHAKE_MIDDLEWARE": ["tests.testapp.nowhere.Middleware"]}):
        assert ["tests.testapp.nowhere.Middleware"] == handshake_middleware()


def test_an_async_only_middleware_is_refused():
    """A middleware that cannot run synchronously is refused with a message naming the setting."""
    with pytest.raises(ImproperlyConfigured, match=r"HANDSHAKE_MIDDLEWARE'\] lists 'tests.test_wsgi.AsyncOnly'"):
        build_handler(["tests.test_wsgi.AsyncOnly"])


class AsyncOnly:
    sync_capable = False
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response


def request_counts(server):
    with urllib.request.urlopen(server.url + "/requests/", timeout=5) as response:
        return json.loads(response.read())


@pytest.mark.django_db(transaction=True)
def test_polling_requests_of_an_established_connection_skip_django(live_channels_server):
    """A polling client's GETs and POSTs start no Django request (Django's handler would send request_started;
    the lean path sends it for none, its handshake included)."""
    before = request_counts(live_channels_server)["started"]
    client = WireClient(live_channels_server.url, transport="polling").connect("history/lean-path")
    try:
        for n in range(5):
            assert {"ok": True} == client.call("history/lean-path", "message", {"n": n})
        after = request_counts(live_channels_server)["started"]
    finally:
        client.close()
    # The /requests/ view itself.
    assert before + 1 == after


def test_the_session_id_is_parsed_once_per_request(monkeypatch):
    """The lean path, the endpoint and the engine all read a request's Engine.IO session id, which is parsed from its query string once."""
    from socketio_views.transport import environ as environ_module

    monkeypatch.setattr("socketio_views.monkey.is_patched", lambda: True)
    parsed = []
    parse = environ_module.session_id
    monkeypatch.setattr(environ_module, "session_id", lambda query: parsed.append(query) or parse(query))
    app = SocketIOApplication(Recorder())
    _, _, body = call(app, environ("/socket.io/", "EIO=4&transport=polling"))
    sid = json.loads(body[1:])["sid"]
    assert ["EIO=4&transport=polling"] == parsed
    query = f"EIO=4&transport=polling&sid={sid}"
    post = {**environ("/socket.io/", query), "REQUEST_METHOD": "POST", "CONTENT_LENGTH": "1", "wsgi.input": io.BytesIO(b"1")}
    status, _, answer = call(app, post)
    assert ("200 OK", b"OK") == (status, answer)  # a CLOSE packet, accepted
    assert ["EIO=4&transport=polling", query] == parsed
