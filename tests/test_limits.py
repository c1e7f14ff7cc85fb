"""Limits on what one connection may cost the others."""
import multiprocessing
import threading
import time
import uuid

import pytest
import websocket
from django.test import override_settings

from socketio_views.testing import ChannelTestClient, SubscriptionRefused

from .wire import WireClient, raw_socket


def test_subscriptions_per_connection_are_capped():
    """Past MAX_SUBSCRIPTIONS a subscription is refused with too_many_subscriptions; leaving one makes room."""
    with override_settings(SOCKETIO_VIEWS={"MAX_SUBSCRIPTIONS": 2}):
        client = ChannelTestClient()
        first = client.subscribe("signals/a")
        client.subscribe("signals/b")
        with pytest.raises(SubscriptionRefused) as refused:
            client.subscribe("signals/c")
        assert refused.value.code == "too_many_subscriptions"
        assert "already holds 2 subscriptions" in refused.value.message
        first.unsubscribe()
        client.subscribe("signals/c")
        ChannelTestClient().subscribe("signals/a")  # another connection has its own count


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))


class PeakRss:
    """The largest RSS of process ``pid`` (in MB above its RSS at the start), sampled every 10 ms from a thread."""

    def __init__(self, pid):
        self.pid = pid
        self.start = rss_kb(pid)
        self.peak = self.start
        self.running = True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while self.running:
            self.peak = max(self.peak, rss_kb(self.pid))
            time.sleep(0.01)

    def stop(self):
        """Stop sampling; return the peak growth in MB."""
        self.running = False
        self.thread.join(5)
        return (max(self.peak, rss_kb(self.pid)) - self.start) / 1024


class ThreadWitness:
    """A client in its own channel asking the server a round trip every 20 ms; the slowest is kept."""

    def __init__(self, url):
        self.channel = f"rooms/witness-{uuid.uuid4().hex[:6]}"
        self.client = WireClient(url).connect(self.channel, auth={"name": "witness"})
        self.worst = 0.0
        self.error = None
        self.running = True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while self.running:
            started = time.monotonic()
            try:
                self.client.call(self.channel, "message", {"text": "tick"}, timeout=30)
            except Exception as exc:
                # Unanswered (a stall beyond the timeout, or the connection lost): the worst there is.
                self.worst = float("inf")
                self.error = exc
                return
            self.worst = max(self.worst, time.monotonic() - started)
            time.sleep(0.02)

    def stop(self):
        self.running = False
        self.thread.join(35)
        self.client.close()
        return self.worst

    def report(self):
        """Stop; return ``{"worst": seconds, "error": repr or None}``."""
        worst = self.stop()
        return {"worst": worst, "error": repr(self.error) if self.error else None}


def run_witness(witness_class, url, ready, stopping, results):
    try:
        witness = witness_class(url)
    except Exception as exc:
        results.put({"error": repr(exc)})
        raise
    finally:
        ready.set()
    stopping.wait(600)
    results.put(witness.report())


class WitnessProcess:
    """A witness (``witness_class(url)``) in a process of its own; ``stop()`` returns its ``report()``, or ``{"error"}``.

    In the test process the witness would share the GIL and the garbage
    collector with the test: decoding a flood's 900 large messages there
    delayed its round trips by up to 0.8 s, and hypothesis's collections
    paused it for 140 ms, all counted as the server's latency.
    """

    def __init__(self, url, witness_class):
        context = multiprocessing.get_context("spawn")
        self.ready, self.stopping, self.results = context.Event(), context.Event(), context.Queue()
        self.process = context.Process(
            target=run_witness, args=(witness_class, url, self.ready, self.stopping, self.results), daemon=True
        )
        self.process.start()
        assert self.ready.wait(60), "the witness did not start"

    def stop(self):
        self.stopping.set()
        try:
            return self.results.get(timeout=60)
        finally:
            self.process.join(10)
            if self.process.is_alive():
                self.process.kill()
                self.process.join(10)


class Witness(WitnessProcess):
    """A :class:`ThreadWitness` in a process of its own; ``stop()`` returns the slowest round trip in seconds."""

    def __init__(self, url):
        super().__init__(url, ThreadWitness)
        self.error = None

    def stop(self):
        result = super().stop()
        assert "worst" in result, f"the witness failed: {result['error']}"
        self.error = result["error"]
        return result["worst"]


@pytest.mark.django_db(transaction=True)
def test_a_subscription_flood_is_refused_past_the_cap_without_hurting_others(live_channels_server):
    """3,000 pipelined subscriptions on one connection: refused past 100 with a code, the witness unharmed, RSS flat."""
    witness = Witness(live_channels_server.url)
    pid = live_channels_server.process.pid
    rss_before = rss_kb(pid)
    ws = raw_socket(live_channels_server.url)
    try:
        started = time.monotonic()
        for n in range(3000):
            ws.send(f'40/rooms/flood-{n},{{"name": "f"}}')
        refused = accepted = 0
        while refused + accepted < 3000 and time.monotonic() - started < 10:
            frame = ws.recv()
            if frame.startswith("44/") and "too_many_subscriptions" in frame:
                refused += 1
            elif frame.startswith("40/"):
                accepted += 1
        elapsed = time.monotonic() - started
        rss_growth_mb = (rss_kb(pid) - rss_before) / 1024
    finally:
        ws.close()
        worst = witness.stop()
    print(f"flood answered in {elapsed:.2f} s; witness worst round trip {worst * 1000:.0f} ms; RSS +{rss_growth_mb:.1f} MB")
    assert (accepted, refused) == (100, 2900)
    assert elapsed < 2
    assert worst < 0.2
    assert rss_growth_mb < 50


def close_wait_sockets(port):
    """Server-side sockets of ``port`` stuck in CLOSE_WAIT (the client left, the server never closed)."""
    import subprocess

    out = subprocess.run(["ss", "-Htan", "state", "close-wait", f"( sport = :{port} )"], capture_output=True, text=True)
    return [line for line in out.stdout.splitlines() if line.strip()]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("body", ["7", "4x", "x" * 200_000])
def test_a_bad_polling_post_without_a_pending_get_is_answered_at_once(live_channels_server, body):
    """A polling POST carrying a bad packet (or too large) gets HTTP 400 within a second, with no GET pending."""
    import requests

    base = f"{live_channels_server.url}/socket.io/?EIO=4&transport=polling"
    with requests.Session() as http:
        sid = __import__("json").loads(http.get(base, timeout=5).text[1:])["sid"]
        started = time.monotonic()
        response = http.post(f"{base}&sid={sid}", data=body, timeout=5)
        assert response.status_code == 400
        assert time.monotonic() - started < 1


@pytest.mark.django_db(transaction=True)
def test_a_thousand_bad_posts_leave_no_socket_behind(django_db_setup):
    """1,000 sessions each sending a bad POST leave no server socket in CLOSE_WAIT."""
    from concurrent.futures import ThreadPoolExecutor

    import requests

    from socketio_views.testing import LiveServer

    from .waiting import wait_until

    with LiveServer() as server:
        base = f"{server.url}/socket.io/?EIO=4&transport=polling"

        def bad_post(_):
            with requests.Session() as http:
                sid = __import__("json").loads(http.get(base, timeout=10).text[1:])["sid"]
                return http.post(f"{base}&sid={sid}", data="7", timeout=10).status_code

        with ThreadPoolExecutor(16) as pool:
            assert set(pool.map(bad_post, range(1000))) == {400}
        port = int(server.url.rsplit(":", 1)[1])
        wait_until(lambda: not close_wait_sockets(port), timeout=10, message=lambda: f"{len(close_wait_sockets(port))} in CLOSE_WAIT")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("frame", ["x", "", "9garbage"])
def test_a_garbage_websocket_frame_closes_its_connection_cleanly(live_channels_server, frame):
    """A frame that is no Engine.IO packet closes that connection at once, with one log line and no traceback; its presence leaves at once."""
    channel = f"presence/garbage-{uuid.uuid4().hex[:6]}"
    witness = WireClient(live_channels_server.url).connect(channel, auth={"name": "witness"})
    ws = raw_socket(live_channels_server.url)
    try:
        ws.send(f'40/{channel},{{"name": "garbage"}}')
        witness.wait_for(channel, "presence_diff")
        start = live_channels_server.mark()
        ws.send(frame)
        diffs = witness.wait_for(channel, "presence_diff", count=2, timeout=2)
        assert diffs[1]["leaves"][0]["user"] == "garbage"
        # The log line travels through the server's output pipe, the leave through the witness's socket.
        live_channels_server.wait_for_output("not an Engine.IO packet", timeout=2, start=start)
        lines = live_channels_server.lines_since(start)
        assert [line for line in lines if "Traceback" in line] == []
        assert len([line for line in lines if "not an Engine.IO packet" in line]) == 1
    finally:
        ws.close()
        witness.close()


@pytest.mark.django_db(transaction=True)
def test_a_slow_postgresql_query_does_not_block_other_connections(live_channels_server):
    """Five connections each run SELECT pg_sleep(0.2) three times at once: they overlap, and the witness stays under 150 ms."""
    witness = Witness(live_channels_server.url)
    sleepers = {f"db/{n}": WireClient(live_channels_server.url).connect(f"db/{n}") for n in range(5)}
    rounds, replies = [], []

    def sleep(channel):
        replies.append(sleepers[channel].call(channel, "pg_sleep", {"seconds": 0.2}))

    try:
        for _ in range(3):
            started = time.monotonic()
            threads = [threading.Thread(target=sleep, args=(channel,)) for channel in sleepers]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(10)
            rounds.append(time.monotonic() - started)
    finally:
        for sleeper in sleepers.values():
            sleeper.close()
        worst = witness.stop()
    print(f"rounds of 5 x pg_sleep(0.2): {', '.join(f'{r:.2f}' for r in rounds)} s; witness worst {worst * 1000:.0f} ms")
    assert [{"wait": "wait_poll"}] * 15 == replies
    assert max(rounds) < 0.6  # serialised, a round would take at least 1 s
    assert worst < 0.15


# Bytes per message (MAX_MESSAGE_SIZE), refused from the frame header.

#: WebSocket opcodes and the close code for a message too big (RFC 6455).
TEXT, BINARY, CONTINUATION, CLOSE = 0x1, 0x2, 0x0, 0x8
MESSAGE_TOO_BIG = 1009


def frame_header(length, opcode=TEXT, fin=True):
    """A masked client frame header for ``length`` payload bytes, with a zero mask key (the payload goes unchanged)."""
    import struct

    first = (0x80 if fin else 0) | opcode
    if length < 126:
        return struct.pack("!BB", first, 0x80 | length) + b"\0\0\0\0"
    if length < 1 << 16:
        return struct.pack("!BBH", first, 0x80 | 126, length) + b"\0\0\0\0"
    return struct.pack("!BBQ", first, 0x80 | 127, length) + b"\0\0\0\0"


def read_close_frame(ws, timeout):
    """Read raw frames until the server's close frame; return ``(code, reason)`` (``code`` None if it carried none)."""
    import struct

    sock, buffer = ws.sock, b""
    sock.settimeout(timeout)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        while len(buffer) >= 2:
            opcode, length = buffer[0] & 0x0F, buffer[1] & 0x7F
            start = 2
            if length == 126:
                length, start = struct.unpack("!H", buffer[2:4])[0], 4
            elif length == 127:
                length, start = struct.unpack("!Q", buffer[2:10])[0], 10
            if len(buffer) < start + length:
                break
            payload, buffer = buffer[start : start + length], buffer[start + length :]
            if opcode == CLOSE:
                if len(payload) < 2:
                    return None, ""
                return struct.unpack("!H", payload[:2])[0], payload[2:].decode()
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError("the server closed the TCP connection without a close frame")
        buffer += chunk
    raise AssertionError(f"no close frame within {timeout} s")


def send_in_background(sock, data, chunk=1 << 20):
    """Send ``data`` from a thread, stopping quietly when the server closes the connection.

    The thread's ``sent`` is how many bytes the socket has taken so far, in
    ``chunk``s: a server that stops reading (and the kernel's buffers, a few
    megabytes) holds it back.
    """

    def send():
        view = memoryview(data)
        try:
            for start in range(0, len(view), chunk):
                sock.sendall(view[start : start + chunk])
                thread.sent = start + len(view[start : start + chunk])
        except OSError:
            pass

    thread = threading.Thread(target=send, daemon=True)
    thread.sent = 0
    thread.start()
    return thread


@pytest.mark.django_db(transaction=True)
def test_a_50_mb_frame_is_refused_from_its_header(live_channels_server):
    """A 50 MB frame closes its websocket with 1009 and message_too_large before its payload is read: the witness unharmed, RSS flat."""
    import json

    witness = Witness(live_channels_server.url)
    rss = PeakRss(live_channels_server.process.pid)
    ws = raw_socket(live_channels_server.url)
    size = 50 * 1024 * 1024
    try:
        started = time.monotonic()
        ws.sock.sendall(frame_header(size))
        sender = send_in_background(ws.sock, b"4" + b" " * (size - 1))
        code, reason = read_close_frame(ws, timeout=30)
        refused_after = time.monotonic() - started
        sent_when_refused = sender.sent
        sender.join(30)
        time.sleep(0.5)
    finally:
        ws.close()
        worst = witness.stop()
        rss_growth_mb = rss.stop()
    print(
        f"50 MB frame refused after {refused_after * 1000:.0f} ms and {sent_when_refused / 2**20:.0f} MB sent; "
        f"witness worst round trip {worst * 1000:.0f} ms; RSS +{rss_growth_mb:.1f} MB"
    )
    assert code == MESSAGE_TOO_BIG
    assert json.loads(reason) == {"message": "Messages are limited to 100000 bytes.", "code": "message_too_large"}
    # Refused from the header, not after reading the payload: however slow the machine, most of it was never sent.
    assert sent_when_refused < size / 2
    assert refused_after < 1
    assert worst < 0.2
    assert rss_growth_mb < 10


@pytest.mark.django_db(transaction=True)
def test_a_fragmented_message_is_refused_once_its_fragments_exceed_the_limit(live_channels_server):
    """Continuation frames count together: the fragment that takes the message past MAX_MESSAGE_SIZE is refused from its header."""
    start = live_channels_server.mark()
    source = unique_loopback_address()
    ws = raw_socket(live_channels_server.url, source=source)
    try:
        first = b"4" + b" " * 59_999
        ws.sock.sendall(frame_header(len(first), fin=False) + first)
        ws.sock.sendall(frame_header(60_000, opcode=CONTINUATION))
        code, _ = read_close_frame(ws, timeout=5)
        live_channels_server.wait_for_output("closed", start=start)
    finally:
        ws.close()
    assert code == MESSAGE_TOO_BIG
    lines = live_channels_server.lines_since(start)
    assert [line for line in lines if "Traceback" in line] == []
    assert [line for line in lines if "message_too_large" in line] == [
        f"A websocket message from {source} refused: Messages are limited to 100000 bytes. (message_too_large)"
    ]


def unique_loopback_address():
    """An address of 127.0.0.0/8 other than 127.0.0.1, for a client the server must tell apart from the others."""
    import random

    return f"127.{random.randint(1, 254)}.{random.randint(0, 255)}.{random.randint(1, 254)}"


@pytest.mark.django_db(transaction=True)
def test_messages_within_the_limit_still_arrive_whole(live_channels_server):
    """A fragmented message under MAX_MESSAGE_SIZE, and a masked one with a real key, reach the channel intact."""
    import struct

    channel = f"rooms/frames-{uuid.uuid4().hex[:6]}"
    ws = raw_socket(live_channels_server.url)
    try:
        ws.send(f'40/{channel},{{"name": "f"}}')
        text = "é" * 20_000  # 40,000 bytes of UTF-8, split inside a character
        packet = f'42/{channel},["echo",{{"text":"{text}"}}]'.encode()
        middle = len(packet) // 2 + 1
        ws.sock.sendall(frame_header(middle, fin=False) + packet[:middle])
        ws.sock.sendall(frame_header(len(packet) - middle, opcode=CONTINUATION) + packet[middle:])
        key = b"\x12\x34\x56\x78"
        hello = f'42/{channel},["echo",{{"text":"hello"}}]'.encode()
        masked = bytes(byte ^ key[i % 4] for i, byte in enumerate(hello))
        ws.sock.sendall(struct.pack("!BB", 0x81, 0x80 | len(hello)) + key + masked)
        echoes = []
        deadline = time.monotonic() + 5
        while len(echoes) < 2 and time.monotonic() < deadline:
            frame = ws.recv()
            if frame.startswith(f'42/{channel},["echo"'):
                echoes.append(json_payload(frame))
    finally:
        ws.close()
    assert echoes == [["echo", {"text": text}], ["echo", {"text": "hello"}]]


def json_payload(frame):
    import json

    return json.loads(frame[frame.index(",") + 1 :])


@pytest.mark.django_db(transaction=True)
def test_an_oversize_polling_post_is_refused_from_its_content_length(live_channels_server):
    """A long-polling POST announcing 50 MB gets HTTP 400 before its body is read: the witness unharmed, RSS flat."""
    import json
    import socket

    import requests

    witness = Witness(live_channels_server.url)
    rss = PeakRss(live_channels_server.process.pid)
    host, port = live_channels_server.url.rsplit("/", 1)[1].split(":")
    path = "/socket.io/?EIO=4&transport=polling"
    sid = json.loads(requests.get(f"{live_channels_server.url}{path}", timeout=5).text[1:])["sid"]
    size = 50 * 1024 * 1024
    sock = socket.create_connection((host, int(port)), timeout=10)
    try:
        started = time.monotonic()
        sock.sendall(
            f"POST {path}&sid={sid} HTTP/1.1\r\nHost: {host}\r\nContent-Type: text/plain\r\n"
            f"Content-Length: {size}\r\n\r\n".encode()
        )
        sender = send_in_background(sock, b"4" + b" " * (size - 1))
        status_line = sock.recv(4096).split(b"\r\n", 1)[0]
        refused_after = time.monotonic() - started
        sent_when_refused = sender.sent
        sock.close()
        sender.join(30)
    finally:
        sock.close()
        worst = witness.stop()
        rss_growth_mb = rss.stop()
    print(
        f"50 MB POST refused after {refused_after * 1000:.0f} ms and {sent_when_refused / 2**20:.0f} MB sent; "
        f"witness worst round trip {worst * 1000:.0f} ms; RSS +{rss_growth_mb:.1f} MB"
    )
    assert status_line == b"HTTP/1.1 400 Bad Request"
    # Refused from its Content-Length, not after reading the body: most of it was never sent.
    assert sent_when_refused < size / 2
    assert refused_after < 1
    assert worst < 0.2
    assert rss_growth_mb < 10


# Binary attachments per message (MAX_ATTACHMENTS), refused from the packet header.


@pytest.mark.django_db(transaction=True)
def test_a_thousand_announced_attachments_are_refused_from_the_packet_header(live_channels_server):
    """A binary event announcing 1,000 attachments is refused with too_many_attachments and its connection closed, before any is buffered: the witness unharmed, RSS flat."""
    import json

    witness = Witness(live_channels_server.url)
    rss = PeakRss(live_channels_server.process.pid)
    channel = f"rooms/attachments-{uuid.uuid4().hex[:6]}"
    ws = raw_socket(live_channels_server.url)
    frames = []
    start = live_channels_server.mark()
    try:
        ws.send(f'40/{channel},{{"name": "a"}}')
        assert ws.recv().startswith(f"40/{channel},")
        started = time.monotonic()
        ws.send(f'451000-/{channel},5["message",{{"text":"hi","file":{{"_placeholder":true,"num":0}}}}]')
        attachment = frame_header(99_000, opcode=BINARY) + b"\0" * 99_000
        sender = send_in_background(ws.sock, attachment * 1000)
        ws.sock.settimeout(10)
        while time.monotonic() - started < 10:
            frame = ws.recv()
            frames.append(frame)
            if frame in ("1", ""):  # Engine.IO CLOSE, or the websocket closed
                break
        refused_after = time.monotonic() - started
        sender.join(30)
        time.sleep(0.5)
    finally:
        ws.close()
        worst = witness.stop()
        rss_growth_mb = rss.stop()
    print(
        f"1,000 announced attachments refused after {refused_after * 1000:.0f} ms; witness worst round trip "
        f"{worst * 1000:.0f} ms; RSS +{rss_growth_mb:.1f} MB"
    )
    message = "An event may carry at most 10 binary attachments (MAX_ATTACHMENTS); this one announced 1000."
    error = {"message": message, "code": "too_many_attachments", "event": "message"}
    assert [json.loads(f[f.index(",") + 1 :]) for f in frames if f.startswith(f'42/{channel},["error"')] == [
        ["error", error]
    ]
    assert f'43/{channel},5[{{"error":{json.dumps(error, separators=(",", ":"))}}}]' in frames
    assert frames[-1] == "1"
    lines = live_channels_server.lines_since(start)
    assert [line for line in lines if "too_many_attachments" in line] == [
        f"Event 'message' on '{channel}' refused: {message} (too_many_attachments)"
    ]
    assert [line for line in lines if "Traceback" in line or "malformed" in line] == []
    assert refused_after < 1
    assert worst < 0.2
    assert rss_growth_mb < 10


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("transport", ["websocket", "polling"])
def test_attachments_up_to_the_limit_are_accepted(live_channels_server, transport):
    """An event with MAX_ATTACHMENTS attachments is handled; one more ends the connection with too_many_attachments."""
    channel = f"rooms/attachments-{uuid.uuid4().hex[:6]}"
    client = WireClient(live_channels_server.url, transport=transport).connect(channel, auth={"name": "a"})
    try:
        files = {f"f{n}": bytes([n]) for n in range(10)}
        assert client.call(channel, "message", {"text": "ten", **files}) == {"ok": True}
        start = live_channels_server.mark()
        client.emit(channel, "message", {"text": "eleven", **files, "f10": b"x"})
        from .waiting import wait_until

        wait_until(lambda: not client.sio.connected, timeout=5, message="the connection stayed open")
        if transport == "websocket":
            assert client.received(channel, "error")[0]["code"] == "too_many_attachments"
        # Long-polling: the POST is answered 400 and the session ends at once, so the error
        # event reaches the client only if a GET happened to be pending (docs/errors.rst).
        live_channels_server.wait_for_output("announced 11", timeout=5, start=start)
    finally:
        client.close()


# Acknowledgements the server awaits per connection (MAX_PENDING_ACKS).


@pytest.mark.django_db(transaction=True)
def test_a_client_that_never_acknowledges_is_disconnected_past_the_limit(live_channels_server):
    """Past MAX_PENDING_ACKS unacknowledged sends, the connection gets too_many_pending_acks and is closed; the send over the limit is not sent."""
    import json

    channel = f"rooms/acks-{uuid.uuid4().hex[:6]}"
    ws = raw_socket(live_channels_server.url)
    frames = []
    try:
        ws.send(f'40/{channel},{{"name": "mute"}}')
        assert ws.recv().startswith(f"40/{channel},")
        ws.send(f'42/{channel},["ask_many",{{"count":150}}]')
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            frame = ws.recv()
            frames.append(frame)
            if frame in ("1", ""):
                break
    finally:
        ws.close()
    questions = [f for f in frames if f.startswith(f"42/{channel},") and '["question"' in f]
    errors = [json.loads(f[f.index(",") + 1 :]) for f in frames if f.startswith(f'42/{channel},["error"')]
    message = (
        "100 messages sent to this connection await its acknowledgement (MAX_PENDING_ACKS); "
        "acknowledge each as it arrives."
    )
    assert len(questions) == 100
    assert errors == [["error", {"message": message, "code": "too_many_pending_acks", "event": None}]]
    assert frames[-1] == "1"


@pytest.mark.django_db(transaction=True)
def test_acknowledged_sends_never_reach_the_limit(live_channels_server):
    """A client that acknowledges what it receives can be asked for acknowledgements without end; acks free their place."""
    channel = f"rooms/acks-{uuid.uuid4().hex[:6]}"
    client = WireClient(live_channels_server.url)
    client.answers["question"] = lambda data: {"answer": data["n"]}
    client.connect(channel, auth={"name": "polite"})
    try:
        for round_ in range(3):
            assert client.call(channel, "ask_many", {"count": 80}) == {"asked": 80}
            client.wait_for(channel, "answered", count=80 * (round_ + 1))
        assert client.received(channel, "error") == []
        assert client.sio.connected
    finally:
        client.close()


@pytest.mark.django_db(transaction=True)
def test_the_acknowledgements_of_a_subscription_that_ended_are_no_longer_owed(live_channels_server):
    """Leaving a channel forgets its unacknowledged sends: they no longer count against the connection."""
    first, second = (f"rooms/acks-{uuid.uuid4().hex[:6]}" for _ in range(2))
    ws = raw_socket(live_channels_server.url)
    frames = []
    try:
        for channel in (first, second):
            ws.send(f'40/{channel},{{"name": "mute"}}')
            recv_until(ws, f"40/{channel},")
        ws.send(f'42/{first},1["ask_many",{{"count":60}}]')
        recv_until(ws, f"43/{first},1")
        ws.send(f"41/{first},")
        ws.send(f'42/{second},1["ask_many",{{"count":60}}]')
        frames = recv_until(ws, f"43/{second},1")
    finally:
        ws.close()
    assert len([f for f in frames if '["question"' in f]) == 60
    assert [f for f in frames if '["error"' in f] == []


def recv_until(ws, prefix, timeout=5):
    """Receive frames until one starts with ``prefix``; return them all."""
    frames = []
    deadline = time.monotonic() + timeout
    while not frames or not frames[-1].startswith(prefix):
        assert time.monotonic() < deadline, f"no frame starting with {prefix!r} within {timeout} s: {frames[-5:]}"
        frames.append(ws.recv())
    return frames


# Connections and handshakes per client address (MAX_CONNECTIONS_PER_IP, HANDSHAKE_RATE).


def test_the_client_address_is_remote_addr_unless_a_proxy_header_is_declared():
    """REMOTE_ADDR is the client's address; a forwarding header counts only when CLIENT_IP_HEADER names it."""
    from socketio_views.clients import client_address

    environ = {"REMOTE_ADDR": "198.51.100.7", "HTTP_X_FORWARDED_FOR": "203.0.113.1"}
    assert client_address(environ) == "198.51.100.7"
    with override_settings(SOCKETIO_VIEWS={"CLIENT_IP_HEADER": "HTTP_X_FORWARDED_FOR"}):
        assert client_address(environ) == "203.0.113.1"
        # The last proxy appends the address it saw; what the client wrote comes before.
        assert client_address({**environ, "HTTP_X_FORWARDED_FOR": "10.9.9.9, 203.0.113.1"}) == "203.0.113.1"
        assert client_address({"REMOTE_ADDR": "198.51.100.7"}) == "198.51.100.7"
        assert client_address({**environ, "HTTP_X_FORWARDED_FOR": " , "}) == "198.51.100.7"
    with override_settings(SOCKETIO_VIEWS={"CLIENT_IP_HEADER": "HTTP_X_FORWARDED_FOR", "NUM_PROXIES": 2}):
        assert client_address({**environ, "HTTP_X_FORWARDED_FOR": "1.1.1.1, 203.0.113.1, 10.0.0.2"}) == "203.0.113.1"
        assert client_address({**environ, "HTTP_X_FORWARDED_FOR": "203.0.113.1"}) == "203.0.113.1"


def test_limits_count_an_ipv6_client_by_its_64_bit_network():
    """Every address of one IPv6 /64 (what one subscriber gets) shares one count; IPv4 addresses count alone."""
    from socketio_views.clients import limit_key

    assert limit_key("2001:db8:1:2:aaaa::1") == limit_key("2001:db8:1:2:bbbb::9") == "2001:db8:1:2::/64"
    assert limit_key("2001:db8:1:3::1") != limit_key("2001:db8:1:2::1")
    assert limit_key("203.0.113.1") == "203.0.113.1"


@pytest.mark.parametrize(
    "environ",
    [
        {"REMOTE_ADDR": "127.0.0.1"},
        {"REMOTE_ADDR": "::1"},
        {"REMOTE_ADDR": "10.0.0.5", "HTTP_X_FORWARDED_FOR": "203.0.113.1"},
        {"REMOTE_ADDR": "127.0.0.1", "HTTP_FORWARDED": "for=203.0.113.1"},
    ],
)
def test_the_server_itself_and_an_undeclared_proxy_are_not_limited(environ):
    """Loopback clients, and a private address that forwards others' requests (CLIENT_IP_HEADER unset), have no per-address limit."""
    from socketio_views.clients import limit_key_of

    assert limit_key_of(environ) is None


def test_a_public_client_is_limited_whatever_headers_it_sends():
    """A client on a public address is limited by that address, forwarding headers or not."""
    from socketio_views.clients import limit_key_of

    assert limit_key_of({"REMOTE_ADDR": "198.51.100.7", "HTTP_X_FORWARDED_FOR": "203.0.113.1"}) == "198.51.100.7"


@pytest.fixture(scope="module")
def proxied_server(django_db_setup):
    """A live server behind a declared proxy (X-Forwarded-For), at most 3 connections and 2 handshakes/s per address."""
    from socketio_views.testing import LiveServer

    with LiveServer(settings_module="tests.settings_limits") as server:
        yield server


def forwarded_for(address):
    """The header the proxy of tests/settings_limits.py would add for a client at ``address``."""
    return {"X-Forwarded-For": address}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("transport", ["polling", "websocket"])
def test_connections_per_address_are_capped(proxied_server, transport):
    """Past MAX_CONNECTIONS_PER_IP, a client address is refused with too_many_connections; other addresses are not; closing one makes room."""
    import socketio

    address = f"203.0.113.{uuid.uuid4().int % 250 + 1}"
    witness = WireClient(proxied_server.url, transport=transport)
    clients = []
    try:
        for n in range(3):
            clients.append(WireClient(proxied_server.url, transport=transport))
            clients[-1].connect(f"rooms/cap-{n}", auth={"name": "c"}, headers=forwarded_for(address))
            time.sleep(0.6)  # within HANDSHAKE_RATE (2/s)
        refused = WireClient(proxied_server.url, transport=transport)
        clients.append(refused)
        with pytest.raises(socketio.exceptions.ConnectionError):
            refused.connect("rooms/cap-3", auth={"name": "c"}, headers=forwarded_for(address))
        # Polling: python-socketio's client hands the HTTP 429's JSON to connect_error;
        # websocket: the subscription itself is refused with it.
        error = refused.connect_errors["rooms/cap-3"]
        assert (error if transport == "polling" else error["data"]) == {
            "message": "Too many connections from this address (MAX_CONNECTIONS_PER_IP is 3).",
            "code": "too_many_connections",
        }
        witness.connect("rooms/cap-witness", auth={"name": "w"}, headers=forwarded_for(f"198.51.100.{uuid.uuid4().int % 250 + 1}"))
        clients[0].close()
        time.sleep(0.6)
        again = WireClient(proxied_server.url, transport=transport)
        clients.append(again)
        again.connect("rooms/cap-4", auth={"name": "c"}, headers=forwarded_for(address))
        assert again.call("rooms/cap-4", "message", {"text": "in"}) == {"ok": True}
    finally:
        witness.close()
        for client in clients:
            client.close()


@pytest.mark.django_db(transaction=True)
def test_acknowledgements_do_not_free_a_place_under_the_address_cap(proxied_server):
    """A connection that acknowledges a server message still counts against MAX_CONNECTIONS_PER_IP."""
    import socketio

    address = f"203.0.113.{uuid.uuid4().int % 250 + 1}"
    clients = []
    try:
        for n in range(3):
            client = WireClient(proxied_server.url)
            clients.append(client)
            client.answers["question"] = lambda data: {"answer": data["n"]}
            client.connect(f"rooms/ack-cap-{n}", auth={"name": "c"}, headers=forwarded_for(address))
            assert client.call(f"rooms/ack-cap-{n}", "ask_many", {"count": 1}) == {"asked": 1}
            client.wait_for(f"rooms/ack-cap-{n}", "answered", count=1)
            time.sleep(0.6)  # within HANDSHAKE_RATE (2/s)
        refused = WireClient(proxied_server.url, transport="polling")
        clients.append(refused)
        with pytest.raises(socketio.exceptions.ConnectionError):
            refused.connect("rooms/ack-cap-3", auth={"name": "c"}, headers=forwarded_for(address))
        assert refused.connect_errors["rooms/ack-cap-3"] == {
            "message": "Too many connections from this address (MAX_CONNECTIONS_PER_IP is 3).",
            "code": "too_many_connections",
        }
    finally:
        for client in clients:
            client.close()


@pytest.mark.django_db(transaction=True)
def test_a_refused_websocket_handshake_refuses_each_subscription_with_the_code(proxied_server):
    """A WebSocket handshake over the limit (gevent-websocket accepted the upgrade) opens, each subscription gets connect_error with the code, and it closes."""
    from .waiting import wait_until

    address = f"203.0.113.{uuid.uuid4().int % 250 + 1}"
    clients = []
    try:
        for n in range(3):
            clients.append(WireClient(proxied_server.url).connect(f"rooms/ws-cap-{n}", headers=forwarded_for(address)))
            time.sleep(0.6)  # within HANDSHAKE_RATE (2/s)
        refused = WireClient(proxied_server.url)
        clients.append(refused)
        error = refused.refused("rooms/ws-cap-3", headers=forwarded_for(address))
        wait_until(lambda: not refused.sio.connected, timeout=5, message="the refused connection stayed open")
    finally:
        for client in clients:
            client.close()
    assert error == {
        "message": "Too many connections from this address (MAX_CONNECTIONS_PER_IP is 3).",
        "data": {"message": "Too many connections from this address (MAX_CONNECTIONS_PER_IP is 3).", "code": "too_many_connections"},
    }


@pytest.mark.django_db(transaction=True)
def test_handshakes_per_second_per_address_are_limited(proxied_server):
    """Past HANDSHAKE_RATE, a handshake gets HTTP 429, too_many_handshakes and Retry-After; another address is served, and the log has one line."""
    import requests

    address = f"203.0.113.{uuid.uuid4().int % 250 + 1}"
    start = proxied_server.mark()
    path = f"{proxied_server.url}/socket.io/?EIO=4&transport=polling"
    with requests.Session() as http:
        answers = [http.get(path, headers=forwarded_for(address), timeout=5) for _ in range(4)]
        other = http.get(path, headers=forwarded_for(f"198.51.100.{uuid.uuid4().int % 250 + 1}"), timeout=5)
    assert [answer.status_code for answer in answers] == [200, 200, 429, 429]
    body = answers[2].json()
    assert body["code"] == "too_many_handshakes"
    assert body["message"] == "Too many new connections from this address (HANDSHAKE_RATE is 2/s); retry later."
    assert 0 < body["retry_after"] <= 1
    assert answers[2].headers["Retry-After"] == "1"
    assert other.status_code == 200
    lines = [line for line in proxied_server.lines_since(start) if "too_many_handshakes" in line]
    assert lines == [f"Connection from {address} refused: {body['message']} (too_many_handshakes)"]


@pytest.mark.django_db(transaction=True)
def test_an_undeclared_proxy_is_not_limited_but_named_in_a_warning(live_channels_server):
    """Behind a proxy that CLIENT_IP_HEADER does not declare, every client has the proxy's address: no per-address limit, one warning."""
    import requests

    path = f"{live_channels_server.url}/socket.io/?EIO=4&transport=polling"
    start = live_channels_server.mark()
    with requests.Session() as http:
        answers = [http.get(path, headers=forwarded_for("203.0.113.50"), timeout=5) for _ in range(30)]
    assert {answer.status_code for answer in answers} == {200}
    live_channels_server.wait_for_output("CLIENT_IP_HEADER", start=start)


@pytest.mark.django_db(transaction=True)
def test_subscriptions_per_address_are_budgeted_across_its_connections(transport):
    """MAX_SUBSCRIPTIONS_PER_IP (5 here) counts every connection of an address: the 6th is refused, an end gives a place back, other addresses are apart."""
    from socketio_views.testing import LiveServer

    from .waiting import wait_until

    address = {"X-Forwarded-For": "203.0.113.7"}
    with LiveServer(settings_module="tests.settings_hub") as server:
        clients = [WireClient(server.url, transport=transport) for _ in range(4)]
        try:
            clients[0].connect("rooms/a", "rooms/b", headers=address)
            clients[1].connect("rooms/c", "rooms/d", headers=address)
            clients[2].connect("rooms/e", headers=address)
            error = clients[3].refused("rooms/f", headers=address)
            assert "too_many_subscriptions" == error["data"]["code"]
            assert "MAX_SUBSCRIPTIONS_PER_IP" in error["message"]
            WireClient(server.url, transport=transport).connect("rooms/f", headers={"X-Forwarded-For": "203.0.113.8"}).close()
            clients[0].close()
            clients[3] = WireClient(server.url, transport=transport)

            def subscribed():
                try:
                    clients[3].connect("rooms/f", "rooms/g", headers=address)
                except Exception:
                    clients[3].close()
                    clients[3] = WireClient(server.url, transport=transport)
                    return False
                return True

            wait_until(subscribed, timeout=5, interval=0.1, message="the closed connection's places were not given back")
        finally:
            for client in clients:
                client.close()


@pytest.mark.django_db(transaction=True)
def test_handshakes_past_the_bound_in_progress_are_answered_503_at_once():
    """With MAX_HANDSHAKES_IN_PROGRESS = 2 and two slow handshakes under way, a third is answered 503 server_busy with Retry-After at once (a WebSocket closed with 1013); afterwards one is accepted."""
    import requests

    from socketio_views.testing import LiveServer

    with LiveServer(settings_module="tests.settings_hub") as server:
        base = f"{server.url}/socket.io/?EIO=4&transport=polling"
        slow = [
            threading.Thread(target=requests.get, args=(base,), kwargs={"headers": {"X-Slow-Handshake": "2"}, "timeout": 10})
            for _ in range(2)
        ]
        for thread in slow:
            thread.start()
        time.sleep(0.5)
        started = time.monotonic()
        refused = requests.get(base, timeout=5)
        elapsed = time.monotonic() - started
        ws = websocket.create_connection(base.replace("http://", "ws://").replace("polling", "websocket"), timeout=5)
        try:
            frame = ws.recv_frame()
        finally:
            ws.close()
        for thread in slow:
            thread.join(10)
        accepted = requests.get(base, timeout=5)
    assert (503, "server_busy", "1") == (refused.status_code, refused.json()["code"], refused.headers["Retry-After"])
    # A WebSocket, which gevent-websocket accepted before the server saw it, is closed with 1013 (try again later).
    assert (websocket.ABNF.OPCODE_CLOSE, 1013) == (frame.opcode, int.from_bytes(frame.data[:2], "big"))
    assert "server_busy" in frame.data[2:].decode()
    assert elapsed < 1
    assert 200 == accepted.status_code and accepted.text.startswith("0{")


@pytest.mark.django_db(transaction=True)
def test_a_handshake_flood_from_one_address_is_refused_before_django_without_hurting_others():
    """1,000 polling handshakes from one non-loopback address, 16 at a time: past the caps each is refused (429) before any Django code (the handshake middleware never sees it), and a witness keeps short round trips."""
    from concurrent.futures import ThreadPoolExecutor

    import requests

    from socketio_views.testing import LiveServer

    with LiveServer(settings_module="tests.settings_hub") as server:
        witness = Witness(server.url)
        base = f"{server.url}/socket.io/?EIO=4&transport=polling"
        local = threading.local()

        def handshake(n):
            if not hasattr(local, "session"):
                local.session = requests.Session()
            return local.session.get(base, headers={"X-Forwarded-For": "198.51.100.9"}, timeout=30).status_code

        try:
            started = time.monotonic()
            with ThreadPoolExecutor(16) as pool:
                statuses = list(pool.map(handshake, range(1000)))
            elapsed = time.monotonic() - started
        finally:
            worst = witness.stop()
        # One more, from another address: how many handshakes reached the handshake middleware (Django's code) in all.
        answer = requests.get(base, headers={"X-Forwarded-For": "198.51.100.10"}, timeout=10)
        seen = int(answer.headers["X-Handshakes-Seen"])
    print(
        f"1,000 handshakes answered in {elapsed:.1f} s ({statuses.count(200)} accepted, {seen - 1} through Django's middleware); "
        f"witness worst round trip {worst * 1000:.0f} ms"
    )
    assert statuses.count(200) <= 100 and statuses.count(429) >= 900
    # The witness's and the accepted ones, not the refused.
    assert seen <= statuses.count(200) + 10
    assert worst < 0.5
