"""Every resource bounded: what refused clients cost the server stays flat (issue 30), over a real server."""
import re
import socket
import time
import uuid

import pytest
import websocket

from socketio_views.testing import LiveServer

from .wire import WireClient

live = pytest.mark.django_db(transaction=True)

#: How much the server's resident memory may grow while it is hammered (the issue's bound).
RSS_TOLERANCE = 0.05
#: Seconds the server may take to settle after the last refusal.
SETTLE = 2


def rss(process):
    """The resident memory of ``process`` (a Popen), in bytes, read from /proc."""
    with open(f"/proc/{process.pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def open_socket(url):
    ws = websocket.create_connection(url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket", timeout=10)
    assert ws.recv().startswith("0{")
    return ws


def refuse(ws, namespace):
    """Ask for subscription ``namespace`` and wait for its refusal (answering pings); return the refusal's code."""
    ws.send(f"40/{namespace},")
    while True:
        packet = ws.recv()
        if packet == "2":
            ws.send("3")
            continue
        if packet.startswith("44/"):
            return packet
        if packet.startswith("40/"):
            raise AssertionError(f"subscribed: {packet[:200]}")


@pytest.fixture
def server(django_db_setup):
    with LiveServer() as server:
        yield server


def hammer(server, names, count):
    ws = open_socket(server.url)
    try:
        for index in range(count):
            refuse(ws, names(index))
    finally:
        ws.close()


@live
@pytest.mark.parametrize(
    "path, names, count",
    [
        ("99 KB names that match a route (login_required)", lambda i: f"members/{i:06d}{'x' * 99_000}", 400),
        ("the same 99 KB name again and again", lambda i: f"members/{'y' * 99_000}", 400),
        ("short names that match a route (login_required)", lambda i: f"members/{uuid.uuid4().hex}", 10_000),
        ("short names that match no route", lambda i: f"nowhere/{uuid.uuid4().hex}", 10_000),
        ("short names refused by the view (private, wrong token)", lambda i: f"private/{uuid.uuid4().hex}", 10_000),
    ],
    ids=["long-names", "one-long-name", "short-routed", "short-unrouted", "short-private"],
)
def test_refused_subscriptions_leave_memory_flat(server, path, names, count):
    """Refusing subscriptions (each path as often as an attacker likes) leaves the server's RSS flat within 5 %."""
    hammer(server, lambda i: names(i + count), count // 4)  # warm up: allocator arenas, logging, caches of routes
    before = rss(server.process)
    started = time.monotonic()
    hammer(server, names, count)
    deadline = time.monotonic() + SETTLE
    while (after := rss(server.process)) > before * (1 + RSS_TOLERANCE) and time.monotonic() < deadline:
        time.sleep(0.25)
    assert after <= before * (1 + RSS_TOLERANCE), (
        f"{path}: RSS {before / 1e6:.1f} -> {after / 1e6:.1f} MB after {count} refusals "
        f"in {time.monotonic() - started:.1f} s"
    )


def subscribe_remembering_pid(url, channel):
    """A :class:`WireClient` subscribed to ``channel``, and the recovery session id the server confirmed."""
    client = WireClient(url)
    pids = []
    handle_connect = client.sio._handle_connect

    def remember_pid(namespace, data):
        pids.append((data or {}).get("pid"))
        handle_connect(namespace, data)

    client.sio._handle_connect = remember_pid
    client.connect(channel)
    return client, pids[0]


def claim(url, channel, pid):
    """Claim recovery session ``pid`` on ``channel`` with a new connection: ``(client, (recovered, recovery_failure))``.

    The client stays subscribed (its session is live) until the caller closes it.
    """
    client = WireClient(url).connect(channel, auth={"pid": pid})
    answer = client.call(channel, "whoami")
    return client, (answer["recovered"], answer["recovery_failure"])


def vanish(server, client, channel):
    """Break ``client``'s websocket without a close packet, and wait until the server has ended its subscription."""
    sid = client.sio.namespaces["/" + channel]
    mark = server.mark()
    client.sio.eio.ws.sock.shutdown(socket.SHUT_RDWR)  # a FIN at once, though the client's reader thread is in recv()
    server.wait_for_output(f"Unsubscribed {re.escape(sid)} from .* \\(transport close\\)", start=mark)


@live
def test_recovery_sessions_of_vanished_connections_are_bounded_by_count(django_db_setup):
    """Past MAX_RECOVERY_SESSIONS (3) sessions of vanished connections, the one that vanished first is forgotten;
    live subscriptions' sessions do not count, however many."""
    with LiveServer(settings_module="tests.settings_recovery") as server:
        channel = f"history/{uuid.uuid4().hex[:8]}"
        clients = [subscribe_remembering_pid(server.url, channel) for _ in range(5)]  # more than 3 live
        claims = []
        try:
            (first, first_pid), *others = clients
            vanish(server, first, channel)
            claims.append(claim(server.url, channel, first_pid))
            assert claims[-1][1] == (True, None)
            for client, _pid in others:
                vanish(server, client, channel)
            claims.extend(claim(server.url, channel, pid) for _client, pid in others)
            assert [outcome for _client, outcome in claims[1:]] == [(False, "unknown_session")] + [(True, None)] * 3
        finally:
            for client, _pid in clients:
                client.close()
            for client, _outcome in claims:
                client.close()


def made_up_recoveries(ws, count):
    """Subscribe ``count`` times to a channel with history claiming a made-up recovery session, leaving each time."""
    channel = f"history/{uuid.uuid4().hex[:8]}"
    for n in range(count):
        ws.send(f'40/{channel},{{"pid":"made-up-{n}","offset":"1-0"}}')
        while not (packet := ws.recv()).startswith(f"40/{channel},"):
            if packet == "2":
                ws.send("3")
        ws.send(f"41/{channel},")


def refused_events(ws, count):
    """Emit ``count`` events that no handler takes (unknown_event) on a subscription, then wait for the last refusal.

    Sent without waiting for each answer: the server writes a refusal's ``error`` event and its acknowledgement
    apart, and waiting for each would wait for the client's delayed ACK (40 ms an event).
    """
    channel = f"rooms/{uuid.uuid4().hex[:8]}"
    ws.send(f"40/{channel},")
    while not ws.recv().startswith(f"40/{channel},"):
        pass
    for n in range(count):
        ws.send(f'42/{channel},{n}["nothing_handles_this",{{}}]')
    while not (packet := ws.recv()).startswith(f"43/{channel},{count - 1}"):
        if packet == "2":
            ws.send("3")


@live
@pytest.mark.parametrize(
    "hammer_path, pattern",
    [
        (lambda ws, count: [refuse(ws, f"private/{uuid.uuid4().hex}") for _ in range(count)], r"refused: Wrong token"),
        (made_up_recoveries, r"Recovery of .* refused: unknown_session"),
        (refused_events, r"refused: .*\(unknown_event\)"),
    ],
    ids=["refused-subscriptions", "refused-recoveries", "refused-events"],
)
def test_a_flood_of_client_errors_writes_one_line_per_burst(live_channels_server, hammer_path, pattern):
    """1,000 refusals of one kind from one connection write one line in the first 10 s, however many follow."""
    mark = live_channels_server.mark()
    started = time.monotonic()
    ws = open_socket(live_channels_server.url)
    try:
        hammer_path(ws, 1_000)
    finally:
        ws.close()
    bursts = 1 + int((time.monotonic() - started) // 10)  # a loaded machine may take longer than one burst
    lines = [line for line in live_channels_server.lines_since(mark) if re.search(pattern, line)]
    assert 1 <= len(lines) <= bursts, "\n".join(lines[:5])


def churn(url, count, room):
    """``count`` clients that subscribe to a channel with history, broadcast 2 KB, read nothing and reset their TCP
    connection (no close frame, no FIN)."""
    import struct

    for _ in range(count):
        ws = open_socket(url)
        ws.send(f"40/history/{room},")
        while not ws.recv().startswith(f"40/history/{room}"):
            pass
        ws.send(f'42/history/{room},["message",{{"text":"{"m" * 2000}"}}]')
        ws.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        ws.sock.close()


@live
def test_churned_connections_leave_memory_flat(server):
    """2,000 clients that drop their TCP connection unread, after as many to fill the history, leave RSS flat within 5 %."""
    room = uuid.uuid4().hex[:8]
    churn(server.url, 2_000, room)  # the channel's history (2,000 entries) fills up
    time.sleep(1)
    before = rss(server.process)
    churn(server.url, 2_000, room)
    deadline = time.monotonic() + SETTLE
    while (after := rss(server.process)) > before * (1 + RSS_TOLERANCE) and time.monotonic() < deadline:
        time.sleep(0.25)
    assert after <= before * (1 + RSS_TOLERANCE), f"RSS {before / 1e6:.1f} -> {after / 1e6:.1f} MB after 2,000 churned connections"
