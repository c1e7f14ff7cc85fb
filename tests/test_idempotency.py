"""Idempotent client events: a repeat gets the first answer, and its handler does not run again."""
import json
import os
import subprocess
import uuid
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from socketio_views import ChannelError, ChannelRouter, ChannelView
from socketio_views.idempotency import MemoryAnswers, RedisAnswers, get_answers
from socketio_views.mixins import IdempotentEventsMixin
from socketio_views.testing import ChannelTestClient

from .ci import require

pytestmark = pytest.mark.django_db

NODE_MODULES = Path(__file__).parent.parent / "node_modules"
RETRYING_CLIENT = Path(__file__).parent / "node" / "retrying_client.js"
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")


class Posts(IdempotentEventsMixin, ChannelView):
    idempotent_events = {"post"}
    history = 10
    posted = []

    def on_post(self, data):
        if data.get("fail"):
            raise ChannelError("Not now.", code="busy")
        self.posted.append(data["id"] if "id" in data else None)
        self.broadcast({"text": data["text"]}, event="posted")
        return {"ok": True, "n": len(self.posted)}

    def on_other(self, data):
        self.posted.append("other")
        return len(self.posted)


@pytest.fixture
def posts():
    Posts.posted = []
    router = ChannelRouter()
    router.register("posts", Posts)
    return ChannelTestClient(router=router)


def test_a_repeat_gets_the_first_answer_without_running_the_handler(posts):
    """The same id again is answered with the first answer; the handler ran once and broadcast once."""
    room = posts.subscribe("posts")
    first = room.emit("post", {"id": "a1", "text": "hi"})
    assert first == room.emit("post", {"id": "a1", "text": "hi"}) == {"ok": True, "n": 1}
    assert ["a1"] == Posts.posted
    assert [{"text": "hi"}] == room.received("posted")
    assert {"ok": True, "n": 2} == room.emit("post", {"id": "a2", "text": "hi"})


def test_events_without_an_id_or_not_idempotent_run_every_time(posts):
    """Without the id field, or for an event not in idempotent_events, every emit runs the handler."""
    room = posts.subscribe("posts")
    room.emit("post", {"text": "a"})
    room.emit("post", {"text": "a"})
    room.emit("other", {"id": "x"})
    room.emit("other", {"id": "x"})
    assert [None, None, "other", "other"] == Posts.posted


def test_a_refused_event_is_not_remembered(posts):
    """An event that failed runs again when repeated: only answers are kept."""
    room = posts.subscribe("posts")
    assert "busy" == room.emit("post", {"id": "f", "text": "a", "fail": True})["error"]["code"]
    assert {"ok": True, "n": 1} == room.emit("post", {"id": "f", "text": "a"})


def test_a_recovered_subscription_keeps_its_answers(posts):
    """After a dropped connection, the recovered subscription's repeat gets the first answer."""
    room = posts.subscribe("posts")
    room.emit("post", {"id": "r", "text": "hi"})
    posts.drop()
    [again] = posts.reconnect()
    assert again.recovered
    assert {"ok": True, "n": 1} == again.emit("post", {"id": "r", "text": "hi"})
    assert ["r"] == Posts.posted


def test_another_client_cannot_read_someone_elses_answer(posts):
    """Ids are scoped: another subscriber's same id runs its own event."""
    posts.subscribe("posts").emit("post", {"id": "same", "text": "a"})
    router = posts.router
    other = ChannelTestClient(router=router).subscribe("posts")
    assert {"ok": True, "n": 2} == other.emit("post", {"id": "same", "text": "b"})


def test_the_answers_expire_after_the_window():
    """An answer is forgotten idempotency_window seconds later."""
    now = [0.0]
    answers = MemoryAnswers(clock=lambda: now[0])
    assert answers.reserve("k", 10) is None
    answers.store("k", '{"ok": true}', 10)
    assert '{"ok": true}' == answers.reserve("k", 10)
    now[0] = 11
    assert answers.reserve("k", 10) is None


def test_misplaced_mixin_is_refused():
    """IdempotentEventsMixin after ChannelView is refused when the class is created, as every mixin."""
    with pytest.raises(ImproperlyConfigured, match=r"^Late lists IdempotentEventsMixin after ChannelView"):
        type("Late", (ChannelView, IdempotentEventsMixin), {})


def test_answers_are_kept_in_redis_where_history_is(posts):
    """With HISTORY_URL on Redis, the answers are shared through Redis (every process sees them)."""
    require(_redis_reachable(), f"Redis is not reachable at {REDIS_URL}")
    with override_settings(SOCKETIO_VIEWS={"HISTORY_URL": REDIS_URL}):
        assert isinstance(get_answers(), RedisAnswers)
        room = posts.subscribe("posts")
        key = uuid.uuid4().hex
        assert room.emit("post", {"id": key, "text": "a"}) == room.emit("post", {"id": key, "text": "a"})
        other_process = RedisAnswers(REDIS_URL)
        stored = [k for k in other_process.redis.scan_iter(f"socketio_views:answer:posts:*:post:{key}")]
        assert 1 == len(stored)
        assert {"ok": True, "n": 1} == json.loads(other_process.redis.get(stored[0]))
        other_process.redis.delete(*stored)
        other_process.close()


def _redis_reachable():
    import redis

    try:
        return redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except Exception:
        return False


def retrying_client(server, channel, data, *, retries=3, ack_timeout=300, wait=1000):
    """Run socket.io-client with retries and ackTimeout, emitting ``post`` once; return what it printed."""
    result = subprocess.run(
        ["node", str(RETRYING_CLIENT), server.url, "/" + channel, "post", json.dumps(data), str(retries), str(ack_timeout), str(wait)],
        capture_output=True, text=True, timeout=30,
        env={**os.environ, "NODE_PATH": os.environ.get("NODE_PATH") or str(NODE_MODULES)},
    )
    assert 0 == result.returncode, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


@pytest.mark.django_db(transaction=True)
def test_socket_io_client_retries_over_a_dropped_ack_post_exactly_once(live_channels_server):
    """socket.io-client re-sends an event whose ack timed out; with an id, it is posted exactly once."""
    channel = f"idempotent/{uuid.uuid4().hex[:8]}"
    lines = retrying_client(live_channels_server, channel, {"id": "m-1", "text": "hi", "delay": 1.0})
    posted = [line["data"] for line in lines if line["type"] == "event" and line["event"] == "posted"]
    [ack] = [line for line in lines if line["type"] == "ack"]
    assert ([{"id": "m-1", "text": "hi"}], None, True) == (posted, ack["error"], ack["reply"]["ok"])


@pytest.mark.django_db(transaction=True)
def test_without_an_id_the_retries_post_several_times(live_channels_server):
    """The same retries without an id post once per try: what the id prevents."""
    channel = f"idempotent/{uuid.uuid4().hex[:8]}"
    lines = retrying_client(live_channels_server, channel, {"text": "hi", "delay": 1.0})
    posted = [line["data"] for line in lines if line["type"] == "event" and line["event"] == "posted"]
    assert len(posted) > 1


def test_the_schema_says_which_events_are_idempotent():
    """An idempotent event's message names its id field (x-idempotency-key) and says what a repeat gets."""
    from socketio_views.contracts import describe
    from socketio_views.contracts.asyncapi import asyncapi_document

    messages = asyncapi_document(describe())["components"]["messages"]
    post = messages["IdempotentChannel.client.post"]
    assert "id" == post["x-idempotency-key"]
    assert post["description"].endswith("Idempotent: a repeat with the same `id` (a string of the client's choosing) gets the first answer, without being handled again.")
    assert "x-idempotency-key" not in messages["ContractsChannel.client.draw"]
