"""The write path (socketio_views.transport.writes): frames built once, coalesced writes, idle writers skipped.

Over a real ``runserver_socketio`` process (gevent-patched, as in production)
with raw websocket readers, the real python-socketio client over websocket
and polling, and the official socket.io-client. Two tests elsewhere cover
this path too: a slow consumer among fast readers
(``test_slow_consumers.py``) and recovery while live traffic flows
(``test_recovery.py::test_replay_and_live_traffic_meet_without_gap_or_duplicate``).
"""
import json
import socket
import time
import uuid

import engineio.packet
import pytest
import websocket
from gevent.queue import JoinableQueue
from geventwebsocket.websocket import Header, WebSocket

from socketio_views.queues import metered_queue
from socketio_views.transport import writes

from .test_slow_consumers import FastReader
from .waiting import wait_until
from .wire import WireClient

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def subscribe(live_channels_server):
    """``subscribe(channel, transport)``: a real python-socketio client subscribed to ``channel``; closed after the test."""
    clients = []

    def subscribe(channel, transport="websocket"):
        clients.append(WireClient(live_channels_server.url, transport=transport).connect(channel))
        return clients[-1]

    yield subscribe
    for client in clients:
        client.close()


def message(text):
    return engineio.packet.Packet(engineio.packet.MESSAGE, text)


@pytest.mark.parametrize("size", [10, 125, 126, 65_535, 65_536, 70_000])
def test_a_frame_is_what_gevent_websocket_would_send(size):
    """Any length (the three header forms) and any text: the bytes gevent-websocket's own send() frames."""
    text = '2/rooms/lobby,["message",{"text":"' + ("é" * size)[: max(0, size - 40)] + '"}]'
    packet = message(text)
    writes.prepare(packet)
    payload = ("4" + text).encode()
    assert writes.framed(packet).frame == bytes(Header.encode_header(True, WebSocket.OPCODE_TEXT, b"", len(payload), 0)) + payload
    assert packet.encode() == "4" + text  # what a polling recipient gets: the same text


def test_one_broadcast_is_framed_once_for_all_its_recipients():
    """python-socketio hands every recipient the same packet: each gets the very same frame object."""
    packet = message('2/rooms/lobby,["message","hi"]')
    writes.prepare(packet)
    first = writes.framed(packet).frame
    writes.prepare(packet)  # the next recipient
    assert writes.framed(packet).frame is first
    binary = engineio.packet.Packet(engineio.packet.MESSAGE, b"\x00\x01")
    writes.prepare(binary)
    assert writes.framed(binary) is None  # attachments keep gevent-websocket's path


def test_queued_messages_come_out_as_one_batch_up_to_the_next_other_packet():
    queue = metered_queue(JoinableQueue, max_bytes=None, max_messages=None)()
    queue.websocket = object()  # the writer's websocket: batches are made for it only
    packets = [message(f'2/rooms/a,["m",{n}]') for n in range(3)]
    for packet in packets:
        writes.prepare(packet)
        queue.put(packet)
    queue.put(engineio.packet.Packet(engineio.packet.PING))
    queue.put(packets[0])
    batch = queue.get()
    assert batch.encode().frame == b"".join(writes.framed(p).frame for p in packets)
    assert batch.encode() == "\x1e".join(p.encode() for p in packets)  # a polling payload of the three
    assert queue.get().packet_type == engineio.packet.PING
    assert queue.get() is packets[0]
    # The two messages taken into the batch are marked done; python-engineio's poll() marks what get() returns.
    assert (queue.bytes, queue.qsize(), queue.unfinished_tasks) == (0, 0, 3)


def test_every_recipient_gets_the_same_bytes_with_the_same_history_offset(live_channels_server):
    """Two raw websocket subscribers of a channel with history: each broadcast's frame, offset included, is byte for byte the same."""
    channel = f"history/{uuid.uuid4().hex[:8]}"
    readers = [FastReader(live_channels_server.url, channel) for _ in range(2)]
    try:
        assert readers[0].call("message", {"text": "last"}) == {"ok": True}
        for n in range(50):
            readers[1].ws.send(f"42/{channel}," + json.dumps(["message", {"text": f"m{n}"}]))
        prefix = f"42/{channel},"
        wait_until(lambda: all(len([f for f in r.frames if f.startswith(prefix + '["message"')]) == 51 for r in readers), timeout=10)
        frames = [[f for f in r.frames if f.startswith(prefix + '["message"')] for r in readers]
        assert frames[0] == frames[1]
        offsets = [json.loads(frame[len(prefix):])[-1] for frame in frames[0]]
        assert len(set(offsets)) == 51 and all(isinstance(offset, str) for offset in offsets)
    finally:
        for reader in readers:
            reader.close()


@pytest.mark.parametrize("count", [1, 300])
def test_websocket_and_polling_recipients_get_a_burst_at_once_and_in_order(subscribe, count):
    """A lone message and a burst reach two websocket subscribers and a polling one within seconds, in order.

    Messages for an idle writer wait for the end of the event loop's turn:
    were that end never noticed, they would wait for the next ping (25 s).
    """
    room = f"rooms/{uuid.uuid4().hex[:8]}"
    subscribers = [subscribe(room), subscribe(room), subscribe(room, "polling")]
    publisher = subscribe(room)
    started = time.monotonic()
    for n in range(count - 1):
        publisher.emit(room, "message", {"text": str(n)})
    assert publisher.call(room, "message", {"text": str(count - 1)}) == {"ok": True}
    for subscriber in subscribers:
        wait_until(lambda: len(texts_of(subscriber, room)) >= count, timeout=10, message=lambda: f"{subscriber.transport}: {[len(texts_of(s, room)) for s in subscribers]}")
        texts = texts_of(subscriber, room)
        assert texts == [str(n) for n in range(count)]
    assert time.monotonic() - started < 10


def texts_of(client, room):
    return [m["text"] for m in client.received(room, "message") if "text" in m]


def test_include_self_false_skips_the_sender_only(subscribe):
    room = f"rooms/{uuid.uuid4().hex[:8]}"
    typist, other, polling = subscribe(room), subscribe(room), subscribe(room, "polling")
    for _ in range(3):
        typist.emit(room, "typing", {})
    assert typist.call(room, "message", {"text": "done"}) == {"ok": True}
    for reader in (other, polling, typist):
        wait_until(lambda: texts_of(reader, room) == ["done"], timeout=10)
    for reader in (other, polling):
        assert len(reader.received(room, "typing")) == 3
    assert typist.received(room, "typing") == []


def test_what_a_slow_reader_does_not_take_at_once_arrives_whole_and_in_order(live_channels_server):
    """100 KB broadcasts to a reader with a 4 KB receive window: the socket takes them in parts, the writer sends the rest."""
    channel = f"flood/{uuid.uuid4().hex[:8]}"
    url = live_channels_server.url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
    slow = websocket.create_connection(url, timeout=10, sockopt=[(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)])
    publisher = FastReader(live_channels_server.url, channel)
    try:
        assert slow.recv().startswith("0{")
        slow.send(f"40/{channel},")
        assert slow.recv().startswith(f"40/{channel},")
        assert publisher.call("flood", {"count": 8, "size": 100_000}) == {"sent": 8}
        items = []
        while len(items) < 8:
            frame = slow.recv()
            if frame.startswith(f"42/{channel},"):
                items.append(json.loads(frame[len(f"42/{channel},"):])[1])
            time.sleep(0.05)  # a slow reader
        assert [item["n"] for item in items] == list(range(8))
        assert all(item["text"] == "x" * 100_000 for item in items)
    finally:
        publisher.close()
        slow.close()
