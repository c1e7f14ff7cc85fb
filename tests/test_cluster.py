"""BACKEND_ROUTING "sharded" on a real 3-master Redis Cluster (socketio_views.transport.cluster)."""
import json
import random
import shutil
import socket
import subprocess
import time
import uuid

import pytest
import requests
import socketio

from socketio_views.identity import CONTROL_NAMESPACE, ENDED_EVENT
from socketio_views.testing import LiveServer
from socketio_views.transport.cluster import ClusterListener, cluster_client
from socketio_views.transport.managers import RoutedRedisManager, make_manager

from .ci import require
from .test_identity import LOGGED_OUT, log_out
from .test_scaleout import seconds_until_ended
from .waiting import wait_until
from .wire import WireClient, session_cookie

#: Seconds each step of starting or stopping the cluster may take.
STEP_TIMEOUT = 10


def port_pair_free(port):
    """Whether ``port`` and its cluster bus port (``port + 10000``) are free on 127.0.0.1."""
    for candidate in (port, port + 10000):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", candidate))
            except OSError:
                return False
    return True


def free_cluster_ports(count):
    ports = []
    while len(ports) < count:
        port = random.randrange(20000, 50000)
        if port not in ports and port_pair_free(port):
            ports.append(port)
    return ports


def cluster_state(port):
    """The ``cluster_state`` of the node at ``port`` ("ok", "fail"), or ``None`` while it does not answer."""
    result = subprocess.run(
        ["redis-cli", "-p", str(port), "cluster", "info"], capture_output=True, text=True, timeout=STEP_TIMEOUT
    )
    for line in result.stdout.splitlines():
        if line.startswith("cluster_state:"):
            return line.split(":", 1)[1].strip()
    return None


def stop(processes):
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=STEP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STEP_TIMEOUT)


@pytest.fixture(scope="module")
def cluster_url(tmp_path_factory):
    """A 3-master Redis Cluster (no replicas) on free ports, in a temporary folder: its ``redis+cluster://`` URL."""
    require(shutil.which("redis-server") and shutil.which("redis-cli"), "redis-server or redis-cli is not installed")
    folder = tmp_path_factory.mktemp("redis-cluster")
    ports = free_cluster_ports(3)
    processes = []
    try:
        for port in ports:
            processes.append(subprocess.Popen(
                ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--cluster-enabled", "yes",
                 "--cluster-config-file", f"nodes-{port}.conf", "--appendonly", "no", "--save", ""],
                cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            ))
        for port in ports:
            wait_until(lambda port=port: cluster_state(port) is not None, timeout=STEP_TIMEOUT,
                       message=f"redis-server on {port} did not start")
        subprocess.run(
            ["redis-cli", "--cluster", "create", *(f"127.0.0.1:{port}" for port in ports),
             "--cluster-replicas", "0", "--cluster-yes"],
            check=True, capture_output=True, timeout=STEP_TIMEOUT * 3,
        )
        for port in ports:
            wait_until(lambda port=port: cluster_state(port) == "ok", timeout=STEP_TIMEOUT,
                       message=f"the cluster's node on {port} is not ok")
        yield "redis+cluster://" + ",".join(f"127.0.0.1:{port}" for port in ports[:2])
    finally:
        stop(processes)


@pytest.fixture(scope="module")
def client(cluster_url):
    client = cluster_client(cluster_url)
    yield client
    client.close()


def namespaces_on_every_shard(client, prefix, count_per_shard=1):
    """Channel namespaces ``/rooms/…`` whose Redis channels ``prefix + namespace`` land on each shard in turn."""
    shards = {node.name for node in client.get_primaries()}
    chosen = {shard: [] for shard in shards}
    n = 0
    while any(len(names) < count_per_shard for names in chosen.values()):
        namespace = f"/rooms/shard-{n}-{uuid.uuid4().hex[:4]}"
        names = chosen[client.get_node_from_key(prefix + namespace).name]
        if len(names) < count_per_shard:
            names.append(namespace)
        n += 1
    return [namespace for names in zip(*chosen.values()) for namespace in names]


def node_subscribers(node, channel):
    """How many connections are subscribed (SSUBSCRIBE) to ``channel`` on master ``node``."""
    return node.redis_connection.execute_command("PUBSUB", "SHARDNUMSUB", channel)[1]


def shard_subscribers(client, channel):
    """How many connections are subscribed (SSUBSCRIBE) to ``channel`` on the shard that owns it."""
    return node_subscribers(client.get_node_from_key(channel), channel)


@pytest.fixture
def routed(cluster_url):
    """A sharded RoutedRedisManager of a python-socketio server (threading mode), listening to the cluster."""
    manager = RoutedRedisManager(
        cluster_url, channel=f"svt-cluster-{uuid.uuid4().hex[:8]}", sharded=True, unsubscribe_delay=0.2
    )
    socketio.Server(async_mode="threading", client_manager=manager)
    manager.initialize()
    wait_until(lambda: manager._listening, timeout=5, message="the manager did not listen to the cluster")
    yield manager
    manager.close()


def test_a_cluster_url_needs_sharded_routing(cluster_url):
    """A redis+cluster:// BACKEND is refused with any routing but "sharded", which gives a sharded RoutedRedisManager."""
    from django.core.exceptions import ImproperlyConfigured

    for routing in (None, "channel", "shared"):
        with pytest.raises(ImproperlyConfigured, match=f"is a Redis Cluster.*'sharded' \\(it is {routing!r}\\)"):
            make_manager(cluster_url, write_only=True, routing=routing)
    manager = make_manager(cluster_url, write_only=True, routing="sharded")
    assert (RoutedRedisManager, True) == (type(manager), manager.sharded)


def test_channels_are_subscribed_on_their_own_shards_and_left_after_their_last_subscriber(routed, client):
    """Channels on each of the 3 shards: the first local subscriber SSUBSCRIBEs the process on the shard that owns
    the channel, wait_until_routed returns once it is, and the last one's leaving SUNSUBSCRIBEs it there."""
    assert isinstance(routed.listening_pubsub, ClusterListener)
    namespaces = namespaces_on_every_shard(client, routed.prefix)
    sids = [routed.pre_connect(f"eio-{n}", namespace) for n, namespace in enumerate(namespaces)]
    for namespace in namespaces:
        routed.wait_until_routed(namespace)
    assert [1, 1, 1] == [shard_subscribers(client, routed.prefix + namespace) for namespace in namespaces]
    assert 3 == len({client.get_node_from_key(routed.prefix + namespace).name for namespace in namespaces})

    routed.basic_disconnect(sids[0], namespaces[0])
    wait_until(lambda: shard_subscribers(client, routed.prefix + namespaces[0]) == 0, timeout=3,
               message="the channel stayed subscribed")
    assert [1, 1] == [shard_subscribers(client, routed.prefix + namespace) for namespace in namespaces[1:]]
    # A shard whose last channel was left is still read: a channel subscribed there again is heard.
    routed.pre_connect("eio-again", namespaces[0])
    routed.wait_until_routed(namespaces[0])
    assert routed.routes[routed.route_key(namespaces[0])].confirmed.is_set()


def test_a_write_only_manager_reaches_a_listener_on_every_shard(cluster_url, routed, client, monkeypatch):
    """A write-only manager (a web worker, a task) SPUBLISHes each channel's broadcast on its shard and the control
    messages on the plain channel: a listening manager gets each once, in order per channel, and nothing of a
    channel it does not serve."""
    received = []
    monkeypatch.setattr(routed, "_handle_emit", received.append)
    namespaces = namespaces_on_every_shard(client, routed.prefix)
    for n, namespace in enumerate(namespaces):
        routed.pre_connect(f"eio-{n}", namespace)
        routed.wait_until_routed(namespace)
    publisher = make_manager(cluster_url, write_only=True, routing="sharded", channel=routed.channel)
    publisher.emit("message", {"n": 0}, namespace="/rooms/nobody-here")
    for n in range(5):
        for namespace in namespaces:
            publisher.emit("message", {"n": n}, namespace=namespace)
    publisher.emit(ENDED_EVENT, {"session": "s", "user": None}, namespace=CONTROL_NAMESPACE)
    wait_until(lambda: len(received) >= 16, timeout=5, message=lambda: received)
    time.sleep(0.2)  # a duplicate would have arrived by now

    # In order per channel; channels on different shards come over different connections, in any order.
    assert [list(range(5))] * 3 == [
        [m["data"][0]["n"] for m in received if m["namespace"] == namespace] for namespace in namespaces
    ]
    assert [CONTROL_NAMESPACE] == [m["namespace"] for m in received if m["namespace"] not in namespaces]


def node_id(node):
    found = node.redis_connection.execute_command("CLUSTER", "MYID")
    return found.decode() if isinstance(found, bytes) else found


def move_slot(client, slot, source, target):
    """Give ``slot`` (which holds no key) from master ``source`` to master ``target``, as resharding does."""
    source_id, target_id = (node_id(node) for node in (source, target))
    target.redis_connection.execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING", source_id)
    source.redis_connection.execute_command("CLUSTER", "SETSLOT", slot, "MIGRATING", target_id)
    for node in client.get_primaries():
        node.redis_connection.execute_command("CLUSTER", "SETSLOT", slot, "NODE", target_id)


def test_a_channel_whose_slot_moves_is_subscribed_again_where_it_went(cluster_url, routed, client, monkeypatch):
    """When a channel's slot moves to another master (resharding), Redis ends the process's subscription
    (sunsubscribe); the process subscribes again on the new owner, within 5 s, and hears what is published there."""
    received = []
    monkeypatch.setattr(routed, "_handle_emit", received.append)
    namespace = namespaces_on_every_shard(client, routed.prefix)[0]
    channel = routed.prefix + namespace
    routed.pre_connect("eio-1", namespace)
    routed.wait_until_routed(namespace)
    slot, source = client.keyslot(channel), client.get_node_from_key(channel)
    target = next(node for node in client.get_primaries() if node.name != source.name)
    assert (1, 0) == (node_subscribers(source, channel), node_subscribers(target, channel))
    move_slot(client, slot, source, target)
    try:
        wait_until(lambda: node_subscribers(target, channel) == 1, timeout=5, message="not subscribed where it went")
        routed.wait_until_routed(namespace)
        assert (True, 0) == (routed.routes[channel.encode()].confirmed.is_set(), node_subscribers(source, channel))
        publisher = make_manager(cluster_url, write_only=True, routing="sharded", channel=routed.channel)
        publisher.emit("message", {"n": 1}, namespace=namespace)
        wait_until(lambda: received, timeout=5, message="nothing reached the process")
        assert [[{"n": 1}]] == [m["data"] for m in received]
    finally:
        move_slot(client, slot, target, source)
        client.nodes_manager.initialize()


def texts(client, channel):
    return [m["text"] for m in client.received(channel, "message") if "text" in m]


@pytest.fixture(scope="module")
def servers(cluster_url, django_db_setup):
    """Two runserver_socketio processes whose BACKEND is the cluster, with BACKEND_ROUTING "sharded"."""
    env = {
        "SOCKETIO_VIEWS_BACKEND": cluster_url,
        "SOCKETIO_VIEWS_BACKEND_CHANNEL": f"svt-cluster-{uuid.uuid4().hex[:8]}",
        "SOCKETIO_VIEWS_BACKEND_ROUTING": "sharded",
    }
    started = [LiveServer(settings_module="tests.settings_routing", env=env).start() for _ in range(2)]
    yield started
    for server in started:
        server.stop()


@pytest.fixture
def clients():
    opened = []

    def connect(server, *channels, **kwargs):
        opened.append(WireClient(server.url).connect(*channels, **kwargs))
        return opened[-1]

    yield connect
    for c in opened:
        if c.sio.connected:
            c.close()


@pytest.mark.django_db(transaction=True)
def test_broadcasts_on_every_shard_reach_the_other_process_once_in_order(servers, clients, client):
    """Channels on each of the 3 shards, 30 broadcasts each from process A, interleaved: the subscribers on B get
    each channel's once, in order, and A's subscribers too."""
    a, b = servers
    prefix = a.env["SOCKETIO_VIEWS_BACKEND_CHANNEL"] + "#"
    channels = [namespace[1:] for namespace in namespaces_on_every_shard(client, prefix)]
    publishers = [clients(a, channel, auth={"name": "pub"}) for channel in channels]
    subscribers = [clients(b, channel, auth={"name": "sub"}) for channel in channels]
    for n in range(30):
        for publisher, channel in zip(publishers, channels):
            assert {"ok": True} == publisher.call(channel, "message", {"text": str(n)})
    expected = [str(n) for n in range(30)]
    for subscriber, channel in zip(subscribers, channels):
        wait_until(lambda: len(texts(subscriber, channel)) >= 30, timeout=10,
                   message=lambda: (channel, texts(subscriber, channel)))
    for receiver, channel in zip(publishers + subscribers, channels * 2):
        receiver.call(channel, "whoami", {})  # a round trip: a duplicate would have arrived by now
    assert [expected] * 3 == [texts(subscriber, channel) for subscriber, channel in zip(subscribers, channels)]
    assert [expected] * 3 == [texts(publisher, channel) for publisher, channel in zip(publishers, channels)]


@pytest.mark.django_db(transaction=True)
def test_a_process_subscribes_on_the_shard_with_its_first_subscriber_and_leaves_after_its_last(servers, clients, client):
    """B subscribes in the cluster to a channel when its first subscriber arrives (what A broadcasts right after
    reaches it) and unsubscribes 0.3 s after its last one left; A, whose subscriber stays, keeps its subscription."""
    a, b = servers
    prefix = a.env["SOCKETIO_VIEWS_BACKEND_CHANNEL"] + "#"
    for namespace in namespaces_on_every_shard(client, prefix):
        channel, redis_channel = namespace[1:], prefix + namespace
        sender = clients(a, channel, auth={"name": "a"})
        wait_until(lambda: shard_subscribers(client, redis_channel) == 1, timeout=5, message="A did not subscribe")
        joiners = [clients(b, channel, auth={"name": f"b{n}"}) for n in range(2)]
        assert 2 == shard_subscribers(client, redis_channel)
        assert {"ok": True} == sender.call(channel, "message", {"text": "right after"})
        for joiner in joiners:
            wait_until(lambda: texts(joiner, channel), timeout=5, message=f"nothing reached B on {channel}")
        joiners[0].close()
        time.sleep(0.6)
        assert 2 == shard_subscribers(client, redis_channel)  # B's other subscriber is still there
        joiners[1].close()
        wait_until(lambda: shard_subscribers(client, redis_channel) == 1, timeout=5, message="B stayed subscribed")
        assert ["right after"] == texts(joiners[1], channel)


@pytest.mark.django_db(transaction=True)
def test_logout_and_disconnect_user_reach_every_process(servers, clients):
    """Logging out through A's logout view ends alice's subscription on B, and disconnect_user() called on A ends
    carol's on B, each within 1 s with logged_out (control messages go on the plain channel every process reads)."""
    a, b = servers
    channel = f"members/cluster-{uuid.uuid4().hex[:6]}"
    alice_cookie = session_cookie(f"alice-{uuid.uuid4().hex[:6]}")
    carol_name = f"carol-{uuid.uuid4().hex[:6]}"
    alice = clients(b, channel, headers={"Cookie": alice_cookie})
    carol = clients(b, channel, headers={"Cookie": session_cookie(carol_name)})
    for subscriber in (alice, carol):
        subscriber.wait_for(channel, "welcome")

    log_out(a.url, alice_cookie)
    assert seconds_until_ended(channel, alice) < 1.0
    response = requests.post(a.url + "/disconnect-user/", data=json.dumps({"username": carol_name}), timeout=10)
    assert 200 == response.status_code
    assert seconds_until_ended(channel, carol) < 1.0
    assert ([LOGGED_OUT], [LOGGED_OUT]) == (alice.received(channel, "error"), carol.received(channel, "error"))


@pytest.mark.django_db(transaction=True)
def test_rate_limits_are_counted_in_the_cluster(servers, clients):
    """With a redis+cluster:// BACKEND, RateLimitMixin counts in the cluster (limits' own storage): two processes
    share one budget per IP."""
    channel = f"ip-limited/{uuid.uuid4().hex[:8]}"
    first, second = clients(servers[0], channel), clients(servers[1], channel)

    assert [{"ok": True}] * 3 == [
        first.call(channel, "message", {}), second.call(channel, "message", {}), first.call(channel, "message", {})
    ]
    assert "rate_limited" == second.call(channel, "message", {})["error"]["code"]
