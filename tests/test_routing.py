"""Room-routed fan-out on Redis: a process hears only the channels it serves (socketio_views.transport.managers)."""
import json
import re
import uuid

import pytest
import requests
import socketio

from socketio_views.identity import CONTROL_NAMESPACE, ENDED_EVENT
from socketio_views.testing import LiveServer
from socketio_views.transport.managers import RedisManager, RoutedRedisManager, make_manager

from .test_scaleout import redis_url  # noqa: F401  (the fixture)
from .waiting import wait_until
from .wire import WireClient


def numsub(redis_client, channel, sharded=False):
    """How many Redis connections are subscribed to ``channel``."""
    command = "SHARDNUMSUB" if sharded else "NUMSUB"
    return redis_client.execute_command("PUBSUB", command, channel)[1]


@pytest.fixture
def redis_client(redis_url):  # noqa: F811
    import redis

    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture(params=[False, True], ids=["plain", "sharded"])
def routed(request, redis_url):  # noqa: F811
    """A RoutedRedisManager of a python-socketio server (threading mode), listening to a real Redis."""
    manager = RoutedRedisManager(
        redis_url, channel=f"svt-route-{uuid.uuid4().hex[:8]}", sharded=request.param, unsubscribe_delay=0.2
    )
    socketio.Server(async_mode="threading", client_manager=manager)
    manager.initialize()
    wait_until(lambda: manager._listening, timeout=5, message="the manager did not listen to Redis")
    yield manager
    manager.close()


def test_a_channel_is_heard_in_redis_before_its_first_subscriber_goes_on(routed, redis_client):
    """The first subscriber of a channel in a process subscribes the process in Redis; wait_until_routed returns once it is."""
    route = routed.prefix + "/rooms/a"
    assert numsub(redis_client, route, routed.sharded) == 0
    routed.pre_connect("eio-1", "/rooms/a")
    routed.wait_until_routed("/rooms/a")
    assert numsub(redis_client, route, routed.sharded) == 1
    assert numsub(redis_client, routed.prefix + "/rooms/b", routed.sharded) == 0


def test_a_channel_is_left_in_redis_after_its_last_subscriber(routed, redis_client):
    """Redis stops sending a channel to a process unsubscribe_delay after its last local subscriber left, not before."""
    route = routed.prefix + "/rooms/a"
    first = routed.pre_connect("eio-1", "/rooms/a")
    second = routed.pre_connect("eio-2", "/rooms/a")
    routed.wait_until_routed("/rooms/a")
    routed.basic_disconnect(first, "/rooms/a")
    routed.server.sleep(0.4)
    assert numsub(redis_client, route, routed.sharded) == 1
    routed.basic_disconnect(second, "/rooms/a")
    wait_until(lambda: numsub(redis_client, route, routed.sharded) == 0, timeout=3, message="the channel stayed subscribed")
    assert route.encode() not in routed.routes


def test_a_subscriber_back_within_the_delay_keeps_the_subscription(routed, redis_client):
    """A channel whose subscriber comes back within unsubscribe_delay (a reload) is not unsubscribed and resubscribed."""
    route = routed.prefix + "/rooms/a"
    sid = routed.pre_connect("eio-1", "/rooms/a")
    routed.wait_until_routed("/rooms/a")
    routed.basic_disconnect(sid, "/rooms/a")
    routed.pre_connect("eio-2", "/rooms/a")
    routed.server.sleep(0.5)
    assert numsub(redis_client, route, routed.sharded) == 1
    assert routed.routes[route.encode()].confirmed.is_set()


def test_broadcasts_go_on_their_channel_and_control_messages_on_the_shared_one(redis_url, redis_client):  # noqa: F811
    """A channel's emit is published on its own Redis channel; logouts, disconnects and rooms on the one every process reads."""
    name = f"svt-route-{uuid.uuid4().hex[:8]}"
    publisher = make_manager(redis_url, write_only=True, channel=name)
    assert isinstance(publisher, RoutedRedisManager)
    listener = redis_client.pubsub()
    listener.subscribe(name, f"{name}#/rooms/a")
    listener.get_message(timeout=1), listener.get_message(timeout=1)  # the confirmations
    publisher.emit("message", {"text": "hi"}, namespace="/rooms/a")
    publisher.emit(ENDED_EVENT, {"session": "s", "user": None}, namespace=CONTROL_NAMESPACE)
    received = [listener.get_message(timeout=2) for _ in range(2)]
    listener.close()
    assert [(m["channel"].decode(), json.loads(m["data"])["namespace"]) for m in received] == [
        (f"{name}#/rooms/a", "/rooms/a"),
        (name, CONTROL_NAMESPACE),
    ]
    # What a server publishes for another process's sid or room, and acks across processes.
    for method in ("disconnect", "enter_room", "leave_room", "close_room", "callback"):
        assert publisher.redis_channel_for({"method": method, "namespace": "/rooms/a"}) == name
    assert publisher.redis_channel_for({"method": "emit", "namespace": "/"}) == name


def test_the_routing_is_chosen_by_setting(redis_url):  # noqa: F811
    """BACKEND_ROUTING: None and "channel" route, "sharded" shards, "shared" is python-socketio's one channel; not for Kafka."""
    from django.core.exceptions import ImproperlyConfigured

    assert not make_manager(redis_url, write_only=True).sharded
    assert make_manager(redis_url, write_only=True, routing="sharded").sharded
    assert type(make_manager(redis_url, write_only=True, routing="shared")) is RedisManager
    with pytest.raises(ImproperlyConfigured, match="'sharded' needs a Redis BACKEND; kafka:// carries every broadcast"):
        make_manager("kafka://127.0.0.1:9092", write_only=True, routing="sharded")
    with pytest.raises(ImproperlyConfigured, match="BACKEND_ROUTING'\\] = 'rooms'; use one of 'channel', 'sharded', 'shared'"):
        make_manager(redis_url, write_only=True, routing="rooms")


def texts(client, channel):
    """The texts of the ``message`` events ``client`` received on ``channel`` (not the "joined" notices)."""
    return [m["text"] for m in client.received(channel, "message") if "text" in m]


def backend_messages(server):
    """socketio_views_backend_messages_received_total of ``server``'s process."""
    response = requests.get(server.url + "/metrics/", headers={"Authorization": "Bearer routing-token"}, timeout=5)
    match = re.search(r"^socketio_views_backend_messages_received_total (\S+)$", response.text, re.MULTILINE)
    return float(match.group(1))


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("routing", ["channel", "sharded", "shared"])
def test_a_process_reads_only_the_broadcasts_it_delivers(routing, redis_url, django_db_setup):  # noqa: F811
    """With routing, a process without subscribers of a channel reads none of its 200 broadcasts; with "shared", all."""
    env = {
        "SOCKETIO_VIEWS_BACKEND": redis_url,
        "SOCKETIO_VIEWS_BACKEND_CHANNEL": f"svt-route-{uuid.uuid4().hex[:8]}",
        "SOCKETIO_VIEWS_BACKEND_ROUTING": routing,
    }
    servers = [LiveServer(settings_module="tests.settings_routing", env=env).start() for _ in range(2)]
    clients = []
    try:
        busy, idle = servers
        # Each process listens to Redis once it serves a socket: the idle one serves another channel.
        clients.append(WireClient(idle.url).connect("rooms/elsewhere", auth={"name": "other"}))
        channel = f"rooms/routed-{uuid.uuid4().hex[:6]}"
        watcher = WireClient(busy.url).connect(channel, auth={"name": "watcher"})
        publisher = WireClient(idle.url if routing == "shared" else busy.url).connect(channel, auth={"name": "pub"})
        clients += [watcher, publisher]
        before = [backend_messages(server) for server in servers]
        for n in range(200):
            assert publisher.call(channel, "message", {"text": str(n)}) == {"ok": True}
        wait_until(lambda: len(texts(watcher, channel)) >= 200, timeout=20, message=lambda: len(texts(watcher, channel)))
        assert texts(watcher, channel) == [str(n) for n in range(200)]
        wait_until(lambda: backend_messages(busy) - before[0] >= 200, timeout=10, message=lambda: backend_messages(busy))
        read_by_idle = backend_messages(idle) - before[1]
        if routing == "shared":
            assert read_by_idle >= 200
        else:
            assert read_by_idle < 10
    finally:
        for client in clients:
            client.close()
        for server in servers:
            server.stop()


@pytest.mark.django_db(transaction=True)
def test_subscribers_joining_other_processes_get_everything_sent_after_their_confirmation(redis_url, django_db_setup):  # noqa: F811
    """Each of 20 new channels: a subscriber on B (the first of that channel there) gets what A broadcasts right after it subscribed, once."""
    env = {"SOCKETIO_VIEWS_BACKEND": redis_url, "SOCKETIO_VIEWS_BACKEND_CHANNEL": f"svt-route-{uuid.uuid4().hex[:8]}"}
    a, b = (LiveServer(settings_module="tests.settings_routing", env=env).start() for _ in range(2))
    clients = []
    try:
        for n in range(20):
            channel = f"rooms/join-{n}-{uuid.uuid4().hex[:6]}"
            sender = WireClient(a.url).connect(channel, auth={"name": "a"})
            joiner = WireClient(b.url).connect(channel, auth={"name": "b"})
            clients += [sender, joiner]
            assert sender.call(channel, "message", {"text": "right after"}) == {"ok": True}
            wait_until(lambda: texts(joiner, channel), timeout=5, message=f"nothing reached B on {channel}")
            joiner.call(channel, "whoami", {})  # a round trip: a duplicate would have arrived by now
            assert texts(joiner, channel) == ["right after"]
    finally:
        for client in clients:
            client.close()
        a.stop()
        b.stop()
