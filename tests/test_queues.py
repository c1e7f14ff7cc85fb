"""The bounded per-connection queue and the packet helpers of socketio_views.queues."""
import pytest
from django.core.exceptions import ImproperlyConfigured
from engineio import packet as eio_packet
from gevent.queue import Empty, JoinableQueue

from socketio_views import ChannelView
from socketio_views.queues import Overflow, attachments_of, metered_queue, namespace_of


def message(text):
    return eio_packet.Packet(eio_packet.MESSAGE, data=text)


def test_the_queue_counts_bytes_and_messages_and_refuses_past_either_bound():
    queue = metered_queue(JoinableQueue, max_bytes=10, max_messages=3)()
    queue.put(message("12345"))
    queue.put(message("1234"))
    with pytest.raises(Overflow):
        queue.put(message("12"))  # 11 bytes
    queue.put(message("1"))
    with pytest.raises(Overflow):
        queue.put(message(""))  # a fourth message
    assert queue.bytes == 10
    assert queue.get().data == "12345"
    assert queue.bytes == 5
    queue.put(message("abcde"))
    queue.put(eio_packet.Packet(eio_packet.PING))  # Engine.IO's own packets always go in
    queue.put(None)
    assert (queue.qsize(), queue.bytes) == (5, 10)


def test_the_full_mark_clears_once_the_queue_is_down_to_half_its_bound():
    queue = metered_queue(JoinableQueue, max_bytes=10, max_messages=None)()
    for text in ("12", "345678"):
        queue.put(message(text))
    queue.full_since = 1.0
    queue.get()
    assert queue.full_since == 1.0  # 6 bytes left, more than half
    queue.get()
    assert queue.full_since is None


def test_discard_and_put_anyway():
    queue = metered_queue(JoinableQueue, max_bytes=4, max_messages=None)()
    queue.put(message("1234"))
    queue.discard()
    assert (queue.qsize(), queue.bytes, queue.unfinished_tasks) == (0, 0, 0)
    queue.ending = True
    with pytest.raises(Overflow):
        queue.put(message("x"))
    queue.put_anyway(message("a notice longer than the bound"))
    assert queue.get().data == "a notice longer than the bound" and queue.bytes == 0


@pytest.mark.parametrize(
    "encoded, namespace, attachments",
    [
        ('2/rooms/lobby,["message",{"a":"/x,"}]', "/rooms/lobby", 0),
        ('2/rooms/lobby,12["message"]', "/rooms/lobby", 0),
        ('2["message","/not/a/namespace"]', "/", 0),
        ("212[\"message\"]", "/", 0),
        ('52-/files/a,["upload",{"_placeholder":true,"num":0}]', "/files/a", 2),
        ('61-/files/a,3[{"_placeholder":true,"num":0}]', "/files/a", 1),
        ("1/rooms/lobby", "/rooms/lobby", 0),
        (b"\x00\x01", None, 0),
    ],
)
def test_namespace_and_attachments_of_an_encoded_packet(encoded, namespace, attachments):
    assert namespace_of(encoded) == namespace
    assert attachments_of(encoded) == attachments


def test_an_unknown_slow_consumer_policy_says_which_are_known():
    class Misconfigured(ChannelView):
        slow_consumer_policy = "block"

    with pytest.raises(ImproperlyConfigured, match=r"Misconfigured.slow_consumer_policy is 'block'; use one of 'disconnect', 'drop'"):
        Misconfigured().get_slow_consumer_policy()


def test_one_polling_response_takes_at_most_what_python_engineio_clients_decode():
    """python-engineio's client refuses a payload of more than 16 packets: the rest wait for the next request."""
    queue = metered_queue(JoinableQueue, max_bytes=None, max_messages=None)()
    for n in range(20):
        queue.put(message(str(n)))
    taken = [queue.get()]
    while True:
        try:
            taken.append(queue.get(block=False))
        except Empty:
            break
    assert [p.data for p in taken] == [str(n) for n in range(16)]
    assert queue.get().data == "16"  # the next request's
