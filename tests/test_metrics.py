"""Prometheus metrics (socketio_views.metrics): exact counts over real connections, under runserver_socketio and
under gunicorn with two workers sharing Redis; and who may read them."""
import os
import re
import shutil
import signal
import subprocess
import sys
import uuid

import pytest
import requests
import socketio
from django.contrib.auth.models import User
from django.core.exceptions import ImproperlyConfigured
from django.test import Client, override_settings
from prometheus_client import CollectorRegistry, generate_latest, multiprocess
from prometheus_client.parser import text_string_to_metric_families

from socketio_views.testing import LiveServer

from .ci import require
from .test_recovery import node_clients, publish  # noqa: F401
from .test_scaleout import REDIS_URL, redis_reachable
from .waiting import wait_until
from .wire import WireClient, session_cookie

pytestmark = pytest.mark.django_db(transaction=True)

ROOMS = "rooms/<slug:room>"
ITEMS = "items/<int:item_id>"
TOKEN = {"Authorization": "Bearer scrape-token"}


def samples(text):
    """``{(sample name, ((label, value), ...)): value}`` of a Prometheus text exposition."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(scraped, name, **labels):
    """One sample's value, 0 when it is absent."""
    return scraped.get((name, tuple(sorted(labels.items()))), 0)


def scrape(url):
    response = requests.get(url + "/metrics/", headers=TOKEN, timeout=5)
    assert 200 == response.status_code, response.text
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    return samples(response.text)


def scrape_as_staff(url):
    """The metrics of the server at ``url``, read with the session of a new staff user (servers without a token)."""
    client = Client()
    client.force_login(User.objects.create_user(f"scraper-{uuid.uuid4().hex[:8]}", is_staff=True))
    response = requests.get(url + "/metrics/", headers={"Cookie": f"sessionid={client.cookies['sessionid'].value}"}, timeout=5)
    assert 200 == response.status_code, response.text
    return samples(response.text)


@pytest.fixture(scope="module")
def operations_server(django_db_setup, django_db_blocker):
    """runserver_socketio with metrics and the Admin UI on (tests/settings_operations.py), fresh for this module."""
    server = LiveServer(settings_module="tests.settings_operations").start()
    yield server
    server.stop()


def test_metrics_count_exactly_what_real_clients_did(operations_server):
    """Subscriptions, events, deliveries (N per broadcast), refusals, a handler error, handler times, connections by
    transport (an upgrade included): the scrape holds exactly what the clients did, and the gauges fall as they leave."""
    url = operations_server.url
    a = WireClient(url, transport="websocket").connect("rooms/metered", auth={"name": "a"})
    b = WireClient(url, transport="polling").connect("rooms/metered", auth={"name": "b"})
    a.wait_for("rooms/metered", "message", count=2)  # its own joined, then b's
    assert {"ok": True} == a.call("rooms/metered", "message", {"text": "one"})
    assert {"ok": True} == a.call("rooms/metered", "message", {"text": "two"})
    assert "server_error" == a.call("rooms/metered", "boom")["error"]["code"]
    assert "room_full" == a.call("rooms/metered", "refuse")["error"]["code"]
    assert "unknown_event" == a.call("rooms/metered", "nope")["error"]["code"]
    refused = WireClient(url, transport="websocket")
    assert "permission_denied" == refused.refused("private/door")["data"]["code"]
    refused.close()
    b.wait_for("rooms/metered", "message", count=3)  # its joined and the two messages
    a.wait_for("rooms/metered", "error", count=3)
    # A polling connection that upgrades to websocket, on another route.
    upgrader = socketio.Client(reconnection=False)
    upgrader.connect(url, namespaces=["/items/7"], transports=["polling", "websocket"], wait_timeout=5)
    try:
        wait_until(lambda: upgrader.transport() == "websocket", timeout=5, message="the client did not upgrade")

        def settled():
            scraped = scrape(url)
            connections = (
                value(scraped, "socketio_views_connections", transport="websocket"),
                value(scraped, "socketio_views_connections", transport="polling"),
            )
            return scraped if connections == (2, 1) else None

        scraped = wait_until(settled, timeout=5, interval=0.1, message=lambda: f"connections: {scrape(url)}")
    finally:
        upgrader.disconnect()
    expected = [
        ("socketio_views_subscriptions", {"route": ROOMS}, 2),
        ("socketio_views_subscriptions", {"route": ITEMS}, 1),
        ("socketio_views_subscriptions", {"route": "private/<str:key>"}, 0),
        ("socketio_views_events_received_total", {"route": ROOMS, "event": "message"}, 2),
        ("socketio_views_events_received_total", {"route": ROOMS, "event": "boom"}, 1),
        ("socketio_views_events_received_total", {"route": ROOMS, "event": "refuse"}, 1),
        ("socketio_views_events_received_total", {"route": ROOMS, "event": "_other"}, 1),
        # a's joined to a; b's joined to a and b; two messages to both.
        ("socketio_views_messages_sent_total", {"route": ROOMS, "event": "message"}, 1 + 2 + 2 * 2),
        ("socketio_views_messages_sent_total", {"route": ROOMS, "event": "error"}, 3),
        ("socketio_views_refusals_total", {"route": ROOMS, "code": "server_error"}, 1),
        ("socketio_views_refusals_total", {"route": ROOMS, "code": "room_full"}, 1),
        ("socketio_views_refusals_total", {"route": ROOMS, "code": "unknown_event"}, 1),
        ("socketio_views_refusals_total", {"route": "private/<str:key>", "code": "permission_denied"}, 1),
        ("socketio_views_handler_seconds_count", {"route": ROOMS, "event": "message"}, 2),
        ("socketio_views_handler_seconds_count", {"route": ROOMS, "event": "boom"}, 1),
        ("socketio_views_handler_seconds_count", {"route": ROOMS, "event": "refuse"}, 1),
        ("socketio_views_backend_errors_total", {"operation": "publish"}, 0),
    ]
    assert [(name, labels, value(scraped, name, **labels)) for name, labels, _ in expected] == expected
    assert 0 < value(scraped, "socketio_views_handler_seconds_sum", route=ROOMS, event="message") < 1
    assert not [key for key in scraped if "metered" in str(key)], "a channel name became a label"

    b.close()
    a.wait_for("rooms/metered", "left")
    a.close()

    def emptied():
        scraped = scrape(url)
        return scraped if value(scraped, "socketio_views_subscriptions", route=ROOMS) == 0 else None

    scraped = wait_until(emptied, timeout=5, interval=0.1, message=lambda: f"after leaving: {scrape(url)}")
    assert 0 == value(scraped, "socketio_views_connections", transport="websocket")
    assert 0 == value(scraped, "socketio_views_connections", transport="polling")
    assert 0 == value(scraped, "socketio_views_subscriptions", route=ITEMS)
    assert 1 == value(scraped, "socketio_views_messages_sent_total", route=ROOMS, event="left")


def test_metrics_view_is_refused_to_everyone_but_staff_tokens_and_listed_addresses(operations_server):
    """Anonymous, a wrong token and a non-staff session get 403; staff, the token and a listed address read metrics."""
    url = operations_server.url + "/metrics/"
    assert 403 == requests.get(url, timeout=5).status_code
    assert 403 == requests.get(url, headers={"Authorization": "Bearer wrong"}, timeout=5).status_code
    assert 403 == requests.get(url, headers={"Cookie": session_cookie("not-staff")}, timeout=5).status_code
    staff = User.objects.create_user("metrics-staff", is_staff=True)
    client = Client()
    client.force_login(staff)
    cookie = f"sessionid={client.cookies['sessionid'].value}"
    response = requests.get(url, headers={"Cookie": cookie}, timeout=5)
    assert 200 == response.status_code and "socketio_views_connections" in response.text
    assert 200 == requests.get(url, headers=TOKEN, timeout=5).status_code


@override_settings(SOCKETIO_VIEWS={"METRICS_IPS": ["10.1.0.0/16"]})
def test_metrics_view_admits_listed_networks():
    """An address inside a METRICS_IPS network reads the metrics; one outside is refused."""
    assert 200 == Client(REMOTE_ADDR="10.1.2.3").get("/metrics/").status_code
    assert 403 == Client(REMOTE_ADDR="10.2.0.1").get("/metrics/").status_code


@override_settings(SOCKETIO_VIEWS={"METRICS": False, "METRICS_TOKENS": ["t"]})
def test_metrics_view_says_when_metrics_are_off():
    """With METRICS False the view answers 404 with the setting to change (to those allowed only)."""
    response = Client().get("/metrics/", HTTP_AUTHORIZATION="Bearer t")
    assert 404 == response.status_code
    assert b"SOCKETIO_VIEWS['METRICS']" in response.content
    assert 403 == Client().get("/metrics/").status_code


def test_metrics_true_without_prometheus_client_says_what_to_install(monkeypatch):
    """METRICS True where prometheus-client cannot be imported is an ImproperlyConfigured naming the extra."""
    from socketio_views import metrics

    monkeypatch.setattr(metrics, "prometheus_client", None)
    with override_settings(SOCKETIO_VIEWS={"METRICS": True}):
        with pytest.raises(ImproperlyConfigured, match=r"pip install 'socketio-views\[metrics\]'"):
            metrics.is_enabled()
    with override_settings(SOCKETIO_VIEWS={}):
        assert metrics.is_enabled() is False
        assert metrics.get_meter() is metrics.NULL_METER


def test_admin_ui_options_refuse_unknown_keys():
    """ADMIN_UI: False is off, True gives the defaults, an unknown option is refused with the valid ones listed."""
    from socketio_views.admin_ui import DEFAULT_OPTIONS, admin_ui_options

    with override_settings(SOCKETIO_VIEWS={}):
        assert admin_ui_options() is None
    with override_settings(SOCKETIO_VIEWS={"ADMIN_UI": True}):
        assert DEFAULT_OPTIONS == admin_ui_options()
    with override_settings(SOCKETIO_VIEWS={"ADMIN_UI": {"readonly": True}}):
        with pytest.raises(ImproperlyConfigured, match=r"unknown options \['readonly'\]; valid ones are"):
            admin_ui_options()


def worker_pids(directory):
    return sorted({int(m[1]) for m in (re.search(r"_(\d+)\.db$", p) for p in os.listdir(directory)) if m})


def worker_samples(directory, pid, scratch):
    """What worker ``pid`` alone recorded: its multiprocess files read through prometheus-client's collector."""
    shutil.rmtree(scratch, ignore_errors=True)
    os.makedirs(scratch)
    for name in os.listdir(directory):
        if name.endswith(f"_{pid}.db"):
            shutil.copy(os.path.join(directory, name), scratch)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=scratch)
    return samples(generate_latest(registry).decode())


def test_gunicorn_two_workers_with_redis_sum_both_workers(django_db_setup, tmp_path):
    """Under gunicorn with 2 workers, Redis and PROMETHEUS_MULTIPROC_DIR, every scrape (whichever worker answers it)
    holds the sum of both workers' counts."""
    require(redis_reachable(REDIS_URL), f"Redis is not reachable at {REDIS_URL}")
    from django.db import connection

    prom_dir = tmp_path / "prometheus"
    prom_dir.mkdir()
    log_path = tmp_path / "gunicorn.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings_operations",
        "SOCKETIO_VIEWS_TEST_DB": connection.settings_dict["NAME"],
        "SOCKETIO_VIEWS_BACKEND": REDIS_URL,
        "SOCKETIO_VIEWS_BACKEND_CHANNEL": f"svt-metrics-{uuid.uuid4().hex[:8]}",
        "PROMETHEUS_MULTIPROC_DIR": str(prom_dir),
    }
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [
                sys.executable, "-m", "gunicorn",
                "--worker-class", "geventwebsocket.gunicorn.workers.GeventWebSocketWorker",
                "--workers", "2", "--bind", "127.0.0.1:0", "--control-socket", str(tmp_path / "ctl"),
                "--config", "python:socketio_views.tuning",
                "tests.wsgi",
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    clients = []
    try:
        url = wait_until(
            lambda: re.search(r"Listening at: (http://127\.0\.0\.1:\d+)", log_path.read_text()),
            timeout=20,
            interval=0.1,
            message=log_path.read_text,
        ).group(1)
        wait_until(lambda: len(re.findall(r"Booting worker", log_path.read_text())) >= 2, timeout=20, interval=0.1)
        channel = f"items/{uuid.uuid4().int % 10**9}"

        def subscribe():
            client = WireClient(url, transport="websocket")
            try:
                client.connect(channel)
            except Exception:  # a worker still booting
                client.close()
                return None
            clients.append(client)
            return client

        def both_workers_serve():
            wait_until(subscribe, timeout=10, interval=0.1, message=log_path.read_text)
            holding = [
                pid for pid in worker_pids(prom_dir)
                if value(worker_samples(prom_dir, pid, tmp_path / "one"), "socketio_views_subscriptions", route=ITEMS)
            ]
            return len(clients) >= 4 and len(holding) == 2

        wait_until(both_workers_serve, timeout=30, interval=0, message=lambda: f"{len(clients)} clients, one worker")
        for client in clients:
            assert {"item_id": "int"} == client.call(channel, "kwargs")["types"]
        assert "unknown_event" == clients[0].call(channel, "nope")["error"]["code"]
        for refused_channel, code in (("private/door", "permission_denied"), ("broken/pipe", "server_error")):
            refused = WireClient(url, transport="websocket")
            assert code == refused.refused(refused_channel)["data"]["code"]
            refused.close()

        def everyone_notified():
            # Until both workers listen to Redis, a broadcast reaches one worker's subscribers only.
            if all(client.received(channel, "notice") for client in clients):
                return True
            response = requests.post(url + "/notify/", json={"channel": channel, "text": "hi"}, timeout=5)
            assert 200 == response.status_code
            return False

        wait_until(everyone_notified, timeout=15, interval=0.3, message="a broadcast did not reach both workers")
        received = sum(len(client.received(channel, "notice")) for client in clients)
        n = len(clients)

        def summed():
            scraped = scrape(url)
            return scraped if value(scraped, "socketio_views_messages_sent_total", route=ITEMS, event="notice") == received else None

        wait_until(summed, timeout=5, interval=0.1, message=lambda: f"{received} notices received: {scrape(url)}")
        wait_until(
            lambda: value(scrape(url), "socketio_views_connections", transport="websocket") == n,
            timeout=5,
            interval=0.1,
            message=lambda: f"{n} connections: {scrape(url)}",
        )
        for _ in range(4):  # several scrapes: each worker answers some
            scraped = scrape(url)
            assert n == value(scraped, "socketio_views_connections", transport="websocket")
            assert n == value(scraped, "socketio_views_subscriptions", route=ITEMS)
            assert n + 1 == value(scraped, "socketio_views_events_received_total", route=ITEMS, event="kwargs") + value(
                scraped, "socketio_views_events_received_total", route=ITEMS, event="_other"
            )
            assert n == value(scraped, "socketio_views_handler_seconds_count", route=ITEMS, event="kwargs")
            assert received == value(scraped, "socketio_views_messages_sent_total", route=ITEMS, event="notice")
            assert 1 == value(scraped, "socketio_views_refusals_total", route=ITEMS, code="unknown_event")
            assert 1 == value(scraped, "socketio_views_refusals_total", route="private/<str:key>", code="permission_denied")
            assert 1 == value(scraped, "socketio_views_refusals_total", route="broken/<str:name>", code="server_error")
        for client in clients:
            client.close()
        clients.clear()
        wait_until(
            lambda: value(scrape(url), "socketio_views_subscriptions", route=ITEMS) == 0,
            timeout=10,
            interval=0.1,
            message=lambda: f"after leaving: {scrape(url)}",
        )
    finally:
        for client in clients:
            client.close()
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(10)
    assert "MonkeyPatchWarning" not in log_path.read_text()
    # socketio_views.tuning's child_exit hook dropped each exited worker's live gauges; counters stay.
    assert [] == sorted(p.name for p in prom_dir.glob("gauge_live*"))
    assert len(list(prom_dir.glob("counter_*.db"))) >= 2


def test_recovery_outcomes_and_replays_are_counted(operations_server, node_clients):
    """A recovered subscription (official client, two missed messages replayed) and an unknown pid are counted by
    outcome, under the route."""
    url = operations_server.url
    channel = f"history/{uuid.uuid4().hex[:8]}"
    route = "history/<str:room>"
    before = scrape(url)
    node = node_clients(url, channel)
    assert node.wait_for("connect")[0]["recovered"] is False
    publisher = WireClient(url).connect(channel)
    stranger = None
    try:
        publish(publisher, channel, ["before"])
        node.wait_for_texts(1)
        node.command("drop")
        node.wait_for("disconnect")
        publish(publisher, channel, ["missed 1", "missed 2"])
        node.command("reconnect")
        assert node.wait_for("connect", 2)[-1]["recovered"] is True
        assert node.wait_for_texts(3) == ["before", "missed 1", "missed 2"]
        stranger = WireClient(url).connect(channel, auth={"pid": "unknown"})
        assert "unknown_session" == stranger.call(channel, "whoami")["recovery_failure"]
    finally:
        publisher.close()
        if stranger is not None:
            stranger.close()
    after = scrape(url)

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert 1 == delta("socketio_views_recoveries_total", route=route, outcome="recovered")
    assert 1 == delta("socketio_views_recoveries_total", route=route, outcome="unknown_session")
    assert 2 == delta("socketio_views_replayed_messages_total", route=route)
