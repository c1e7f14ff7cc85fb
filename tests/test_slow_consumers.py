"""A subscriber that stops reading costs a bounded amount, then is disconnected (or, on tickers, skipped)."""
import itertools
import json
import re
import socket
import threading
import time
import uuid

import pytest
import websocket

from .test_limits import Witness, rss_kb
from .test_metrics import scrape_as_staff, value
from .waiting import wait_until
from .wire import WireClient

#: The tests' flood: 900 broadcasts of 10,000 characters, 300 a second (3 MB/s).
#: The kernel buffers up to 4 MB for a client that does not read
#: (net.ipv4.tcp_wmem), then the queue's bound (1 MB by default) applies.
FLOOD = {"count": 900, "size": 10_000, "rate": 300}


class StalledClient:
    """A raw websocket subscriber that stops reading at once but keeps answering as alive (unsolicited pongs)."""

    def __init__(self, url, channel):
        self.channel = channel
        self.ws = websocket.create_connection(
            url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket",
            timeout=5,
            # A small receive window, so that the kernel buffers little of what the server sends.
            sockopt=[(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)],
        )
        opened = self.ws.recv()
        assert opened.startswith("0{")
        self.connection_id = json.loads(opened[1:])["sid"]
        self.ws.send(f"40/{channel},")
        assert self.ws.recv().startswith(f"40/{channel},")
        self.ponging = True
        self.pongs = threading.Thread(target=self._pong, daemon=True)
        self.pongs.start()

    def _pong(self):
        while self.ponging:
            try:
                self.ws.send("3")
            except Exception:
                return
            time.sleep(0.5)

    def read_all(self, timeout=5):
        """Stop ponging, read until the server closes the socket (or ``timeout``); return the frames."""
        self.ponging = False
        self.pongs.join(2)
        # Read at full speed: the server gives a slow consumer 2 s to read its notice.
        self.ws.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        frames = []
        deadline = time.monotonic() + timeout
        self.ws.settimeout(1)
        while time.monotonic() < deadline:
            try:
                frame = self.ws.recv()
            except (websocket.WebSocketConnectionClosedException, ConnectionError):
                break
            except websocket.WebSocketTimeoutException:
                continue
            if not frame:
                break
            frames.append(frame)
        return frames

    def events(self, frames, event):
        prefix = f"42/{self.channel},"
        return [
            json.loads(frame[len(prefix):])[1]
            for frame in frames
            if frame.startswith(prefix) and json.loads(frame[len(prefix):])[0] == event
        ]

    def close(self):
        self.ponging = False
        try:
            self.ws.close(timeout=1)
        finally:
            self.ws.shutdown()  # also when the server closed it first


class FastReader:
    """A raw websocket subscriber that only reads, in a thread of its own, with a 4 MB receive buffer; it decodes afterwards.

    python-socketio's client starts a thread per message it receives: on a busy
    machine the flood's hundreds of them crowd out its reading thread, the
    reader falls a megabyte behind, and the server rightly ends it as a slow
    consumer too. This one keeps up with the flood however loaded the machine.
    """

    def __init__(self, url, channel):
        self.channel = channel
        self.ws = websocket.create_connection(
            url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket",
            timeout=5,
            sockopt=[(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)],
        )
        assert self.ws.recv().startswith("0{")
        self.ws.send(f"40/{channel},")
        assert self.ws.recv().startswith(f"40/{channel},")
        self.frames = []
        self.acks = itertools.count(1)
        self.reading = True
        self.ws.settimeout(0.2)
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        while self.reading:
            try:
                frame = self.ws.recv()
            except websocket.WebSocketTimeoutException:
                continue
            except Exception:
                return
            if frame == "2":
                self.ws.send("3")  # the server's ping
            else:
                self.frames.append(frame)

    def call(self, event, data, timeout=30):
        """Emit ``event`` with ``data`` and return the acknowledgement's data."""
        ack = next(self.acks)
        self.ws.send(f"42/{self.channel},{ack}" + json.dumps([event, data]))
        prefix = f"43/{self.channel},{ack}"
        frame = wait_until(
            lambda: next((frame for frame in reversed(self.frames) if frame.startswith(prefix)), None),
            timeout=timeout,
            interval=0.05,
            message=lambda: f"no acknowledgement of {event!r} within {timeout} s; last frames: {self.frames[-3:]}",
        )
        return json.loads(frame[len(prefix):])[0]

    def received(self, event):
        prefix = f"42/{self.channel},"
        events = [json.loads(frame[len(prefix):]) for frame in self.frames if frame.startswith(prefix)]
        return [data for name, data in events if name == event]

    def close(self):
        self.reading = False
        self.thread.join(2)
        self.ws.close(timeout=1)


@pytest.mark.django_db(transaction=True)
def test_a_subscriber_that_stops_reading_is_disconnected_with_slow_consumer(live_channels_server):
    """Past the queue bound the stalled connection ends with slow_consumer; the others get everything; memory stays bounded."""
    channel = f"flood/{uuid.uuid4().hex[:8]}"
    ended_before = value(scrape_as_staff(live_channels_server.url), "socketio_views_slow_consumer_disconnects_total", route="flood/<str:name>")
    witness = Witness(live_channels_server.url)
    reader = FastReader(live_channels_server.url, channel)
    stalled = StalledClient(live_channels_server.url, channel)
    pid = live_channels_server.process.pid
    rss_before = rss_kb(pid)
    start = live_channels_server.mark()
    try:
        acks = []
        flood = threading.Thread(target=lambda: acks.append(reader.call("flood", FLOOD, timeout=30)))
        flood.start()
        line = live_channels_server.wait_for_output(r"slow consumer", timeout=10, start=start)
        frames = stalled.read_all()  # at once: the server gives it 2 s to read its notice
        flood.join(30)
        assert acks == [{"sent": 900}]
        wait_until(lambda: len(reader.received("item")) >= 900, timeout=10, interval=0.1)
        rss_growth_mb = (rss_kb(pid) - rss_before) / 1024
        lines = live_channels_server.lines_since(start)
    finally:
        stalled.close()
        reader.close()
        worst = witness.stop()
    print(f"{line!r}; RSS +{rss_growth_mb:.1f} MB; witness worst {worst * 1000:.0f} ms")
    assert "Closing connection" in line
    errors = stalled.events(frames, "error")
    assert errors[-1]["code"] == "slow_consumer"
    assert frames[-1] == "1"  # then the Engine.IO close: the official client reconnects (and recovers)
    assert len(stalled.events(frames, "item")) < 900  # what was queued for it was discarded
    assert [n["n"] for n in reader.received("item")] == list(range(900))
    assert [line for line in lines if "Traceback" in line] == []
    assert len([line for line in lines if "Closing connection" in line and "slow consumer" in line]) == 1
    assert rss_growth_mb < 1 + 10
    assert worst < 0.2
    ended = value(scrape_as_staff(live_channels_server.url), "socketio_views_slow_consumer_disconnects_total", route="flood/<str:name>")
    assert 1 == ended - ended_before


@pytest.mark.django_db(transaction=True)
def test_a_ticker_drops_what_does_not_fit_and_keeps_the_subscriber(live_channels_server):
    """With slow_consumer_policy = "drop" what does not fit is dropped, counted and logged once; the subscriber stays."""
    channel = f"ticker/{uuid.uuid4().hex[:8]}"
    dropped_before = value(scrape_as_staff(live_channels_server.url), "socketio_views_dropped_messages_total", route="ticker/<str:name>")
    reader = WireClient(live_channels_server.url).connect(channel)
    stalled = StalledClient(live_channels_server.url, channel)
    start = live_channels_server.mark()
    try:
        assert reader.call(channel, "flood", FLOOD, timeout=30) == {"sent": 900}
        live_channels_server.wait_for_output(r"Dropped \d+ messages? for the slow connection", timeout=2, start=start)
        frames = []
        reading = threading.Thread(target=lambda: frames.extend(stalled.read_all(timeout=4)))
        reading.start()
        time.sleep(1)  # it catches up with what was kept
        assert reader.call(channel, "flood", {"count": 5, "size": 10}, timeout=10) == {"sent": 5}
        reading.join()
        lines = live_channels_server.lines_since(start)
        # Its acknowledgement came after every item: the reader has what was not dropped for it.
        read = len(reader.received(channel, "item"))
    finally:
        stalled.close()
        reader.close()
    items = stalled.events(frames, "item")
    big = [item["n"] for item in items if len(item["text"]) == 10_000]
    assert 0 < len(big) < 900 and big == sorted(big)  # a gap, never a reordering
    assert [item["n"] for item in items if len(item["text"]) == 10] == [0, 1, 2, 3, 4]
    assert stalled.events(frames, "error") == []
    assert len([line for line in lines if "Dropped" in line and stalled.connection_id in line]) == 1
    assert [line for line in lines if "Traceback" in line] == []
    dropped = value(scrape_as_staff(live_channels_server.url), "socketio_views_dropped_messages_total", route="ticker/<str:name>")
    # Each subscriber (the reader may lag too on a busy machine) was dropped what it did not receive.
    assert (905 - len(items)) + (905 - read) == dropped - dropped_before


@pytest.mark.django_db(transaction=True)
def test_pongs_do_not_keep_a_stalled_ticker_subscriber(live_channels_server):
    """A ticker subscriber whose queue stays full for the ping timeout is disconnected, although it answers pings."""
    channel = f"ticker/{uuid.uuid4().hex[:8]}"
    reader = WireClient(live_channels_server.url).connect(channel)
    stalled = StalledClient(live_channels_server.url, channel)
    start = live_channels_server.mark()
    try:

        def dropped():
            reader.call(channel, "flood", {"count": 100, "size": 10_000}, timeout=10)
            return any("Dropped" in line for line in live_channels_server.lines_since(start))

        wait_until(dropped, timeout=10, interval=0.1, message="nothing was dropped for the stalled subscriber")
        began = time.monotonic()

        def ended():
            reader.call(channel, "flood", {"count": 20, "size": 10_000}, timeout=10)
            return any("slow consumer" in line for line in live_channels_server.lines_since(start))

        wait_until(ended, timeout=10, interval=0.2, message="the stalled subscriber was never disconnected")
        took = time.monotonic() - began
        frames = stalled.read_all()
    finally:
        stalled.close()
        reader.close()
    print(f"disconnected {took:.1f} s after its first dropped message")
    assert 2 <= took < 3 + 2  # the tests' ping timeout is 3 s
    assert stalled.events(frames, "error")[-1]["code"] == "slow_consumer"


@pytest.mark.django_db(transaction=True)
def test_a_polling_client_that_stops_fetching_is_disconnected(live_channels_server):
    """Long-polling: what waits for a client that sends no GET is bounded too; its session ends, and its next GET says so."""
    import requests

    channel = f"flood/{uuid.uuid4().hex[:8]}"
    reader = FastReader(live_channels_server.url, channel)
    base = f"{live_channels_server.url}/socket.io/?EIO=4&transport=polling"
    start = live_channels_server.mark()
    with requests.Session() as http:
        sid = json.loads(http.get(base, timeout=5).text[1:])["sid"]
        url = f"{base}&sid={sid}"
        assert http.post(url, data=f"40/{channel},", timeout=5).text == "OK"
        assert http.get(url, timeout=5).text.startswith(f"40/{channel},")
        try:
            assert reader.call("flood", {"count": 200, "size": 10_000}, timeout=30) == {"sent": 200}
            line = live_channels_server.wait_for_output(rf"Closing connection {sid}: slow consumer", timeout=5, start=start)
            after = http.get(url, timeout=5)
        finally:
            reader.close()
    queued = int(re.search(r"(\d+) bytes queued", line).group(1))
    assert 900_000 < queued <= 1_000_000  # what it held when the next message did not fit: the bound
    assert after.status_code == 400  # python-engineio forgets a closed polling session; the client reconnects
    assert len(reader.received("item")) == 200
