"""The adapter to python-socketio / python-engineio (socketio_views.transport.engine) and the connection record."""
import gc
import re
import weakref
from importlib.metadata import version

import engineio
import pytest
import socketio
from django.core import checks

from socketio_views.checks import check_library_hooks
from socketio_views.clients import LIMIT_KEY
from socketio_views.transport import engine
from socketio_views.transport.connections import Connections
from socketio_views.transport.engine import (
    HOOKS,
    REDIS_HOOKS,
    REDIS_TESTED_VERSION,
    TESTED_VERSIONS,
    check_hooks,
    check_redis_hooks,
)
from socketio_views.transport.server import get_server


def test_the_installed_libraries_have_every_hook_the_adapter_leans_on():
    """With the tested python-socketio and python-engineio, no hook of HOOKS is missing or changed."""
    assert check_hooks() == []
    assert check_library_hooks(None) == []


def test_the_installed_libraries_are_the_tested_minor_series():
    """requirements-dev.txt installs the minor series that setup.py admits and the adapter names."""
    for name, series in TESTED_VERSIONS.items():
        assert version(name).startswith(series + "."), (name, version(name))


def test_the_instance_attributes_the_adapter_reads_exist():
    """python-engineio's driver table and python-socketio's partial binary packets are where the adapter reads them."""
    server = get_server()
    assert isinstance(server.eio._async, dict) and "queue" in server.eio._async
    assert isinstance(server._binary_packet, dict)


def test_a_missing_hook_is_named_with_what_it_was_for(monkeypatch):
    """A hook gone from the library is reported with its class, its name and why the adapter needs it."""
    monkeypatch.delattr(socketio.Server, "_send_eio_packet")
    problems = check_hooks()
    assert problems == [
        "socketio.server.Server._send_eio_packet is gone (used to hold, gate and dedupe live packets)"
    ]


def test_a_changed_hook_fails_the_system_check_with_the_tested_versions(monkeypatch):
    """A hook whose parameters changed fails system check E020, whose hint names the tested versions."""

    def _bad_request(self, message=None, headers=None):
        return {}

    monkeypatch.setattr(engineio.Server, "_bad_request", _bad_request)
    [error] = check_library_hooks(None)
    assert isinstance(error, checks.Error)
    assert error.id == "socketio_views.E020"
    assert "_bad_request('self', 'message', 'headers') is not _bad_request('self', 'message')" in error.msg
    assert error.hint.startswith("Install the versions socketio_views is tested with (python-socketio 5.18.x, python-engineio 4.15.x)")


def test_hooks_are_named_in_the_adapter_and_the_managers_only():
    """Every private name of HOOKS is overridden in engine.py or managers.py, nowhere else in the package."""
    import pathlib

    package = pathlib.Path(engine.__file__).parent.parent
    names = {name for _owner, name, _parameters, _why in HOOKS}
    allowed = {package / "transport" / "engine.py", package / "transport" / "managers.py"}
    offenders = [
        (str(path.relative_to(package)), name)
        for path in package.rglob("*.py")
        if path not in allowed
        for name in names
        if re.search(rf"\b{name}\b", path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_the_installed_redis_py_has_every_internal_the_cluster_listener_leans_on():
    """With the tested redis-py, no method of REDIS_HOOKS is missing or changed, and its instances set the attributes named."""
    import inspect

    import redis
    from redis.cluster import ClusterNode, RedisCluster

    assert check_redis_hooks() == []
    instances = {"redis.client.PubSub": redis.Redis().pubsub(), "redis.cluster.ClusterNode": ClusterNode("127.0.0.1", 6379)}
    attributes = [(owner, name) for owner, name, parameters, _why in REDIS_HOOKS if parameters is None]
    for owner, name in attributes:
        if owner in instances:
            assert hasattr(instances[owner], name), (owner, name)
        else:  # a RedisCluster connects as it is made: read where it sets the attribute
            assert (owner, name) == ("redis.cluster.RedisCluster", "nodes_manager")
            assert "self.nodes_manager = " in inspect.getsource(RedisCluster.__init__)


def test_the_installed_redis_py_is_the_tested_minor_series():
    """requirements-dev.txt installs the redis-py series that REDIS_HOOKS names."""
    assert version("redis").startswith(REDIS_TESTED_VERSION + "."), version("redis")


def test_a_missing_redis_internal_is_named_with_what_it_was_for(monkeypatch):
    """A redis-py method gone from the library is reported with its class, its name and why the cluster listener needs it."""
    import redis.client

    monkeypatch.delattr(redis.client.PubSub, "handle_message")
    assert check_redis_hooks() == [
        "redis.client.PubSub.handle_message is gone (used to make a message of a reply, as listen() does)"
    ]


def test_every_redis_internal_of_the_table_is_used_by_the_cluster_listener():
    """Each name of REDIS_HOOKS is read in transport/cluster.py, so that a row outlives no use of it."""
    import pathlib

    source = (pathlib.Path(engine.__file__).parent / "cluster.py").read_text(encoding="utf-8")
    assert [] == [name for _owner, name, _parameters, _why in REDIS_HOOKS if not re.search(rf"\.{name}\b", source)]


def test_closing_a_connection_releases_its_address_once():
    """Connections.close() gives back the connection's place under MAX_CONNECTIONS_PER_IP, once, whatever it owed."""
    connections = Connections()
    connection = connections.open("c1", {"REMOTE_ADDR": "203.0.113.9", LIMIT_KEY: "203.0.113.9"})
    connections.open("c2", {"REMOTE_ADDR": "203.0.113.9", LIMIT_KEY: "203.0.113.9"})
    connection.owe_ack("s1")
    connection.acknowledged("s1")
    connection.owe_ack("s1")
    connection.unsubscribed("s1")
    assert connections.addresses.open == {"203.0.113.9": 2}
    assert connections.close("c1") is connection
    assert connections.close("c1") is None
    assert connections.addresses.open == {"203.0.113.9": 1}
    assert connection.closed and connections.get("c1") is None


def test_a_closed_connection_leaves_its_request_to_reference_counting():
    """Closing a connection drops its environ's request (which holds that environ): both are freed at once, not by
    a full garbage collection (2,000 churned connections kept 7 KB each until one)."""
    from django.core.handlers.wsgi import WSGIRequest
    from django.test import RequestFactory

    from socketio_views.transport.environ import REQUEST_KEY

    connections = Connections()
    environ = RequestFactory().get("/socket.io/", {"EIO": "4", "transport": "websocket"}).environ
    environ[REQUEST_KEY] = request = WSGIRequest(environ)
    connections.open("c1", environ)
    freed = weakref.ref(request)
    gc.disable()
    try:
        del request, environ
        connections.close("c1")
        assert freed() is None
    finally:
        gc.enable()


def test_acknowledgements_are_counted_per_subscription():
    """An ended subscription forgets what it owed; an acknowledgement of another pays its own."""
    connection = Connections().open("c1", {"REMOTE_ADDR": "203.0.113.9"})
    for sid in ("a", "a", "b"):
        connection.owe_ack(sid)
    assert connection.pending_acks == 3
    connection.unsubscribed("a")
    assert (connection.pending_acks, connection.acks) == (1, {"b": 1})
    connection.acknowledged("a")  # a late callback of the ended subscription pays nothing
    connection.acknowledged("b")
    assert (connection.pending_acks, connection.acks) == (0, {})


@pytest.mark.parametrize("query, expected", [("EIO=4&sid=abc", "abc"), ("sid=&s%69d=x", "x"), ("EIO=4", None)])
def test_the_session_id_is_read_as_python_engineio_reads_it(query, expected):
    """environ.session_id() finds the sid python-engineio would, decoding only when needed."""
    from socketio_views.transport.environ import session_id

    assert session_id(query) == expected
