"""What the memory and Redis history stores hold (docs/history.rst): bytes per kept entry, per channel, per session.

The 129-byte JSON message of docs/history.rst (``{"user": "alice", "text":
<100 characters>}``), kept on channels of ``history = 100``:

* memory: what ``MemoryHistory`` allocates, by :mod:`tracemalloc`, for
  10 channels each past its first trim (200 broadcasts, 100 kept), and for
  1,000 recovery sessions of subscriptions that ended (those that
  ``MAX_RECOVERY_SESSIONS`` counts);
* Redis (``BENCH_REDIS_URL``, ``redis://127.0.0.1:6379/0`` by default):
  ``MEMORY USAGE ... SAMPLES 0`` of the same streams (``RedisHistory``,
  ``XADD ... MAXLEN ~ 100``) and of the session keys, written under a prefix
  of this run's own and deleted afterwards.

KB are of 1,000 bytes. Sizes, not times: a busy machine does not change them. ``--json`` writes the
runs as bench.py writes its results (workload ``history-size``, rows
``memory`` and ``redis``, key ``store``), which docs/history.rst reads
through the ``:bench:`` role.

    .venv/bin/python bench/history_sizes.py [--runs 3] [--json bench/results/history-sizes.json]
"""
import argparse
import gc
import json
import os
import secrets
import sys
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import django  # noqa: E402
from django.conf import settings  # noqa: E402

settings.configure(INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "socketio_views"], USE_TZ=True)
django.setup()

from socketio_views.history import MemoryHistory, Policy, RedisHistory, new_pid  # noqa: E402

REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
MESSAGE = {"user": "alice", "text": "x" * 100}  # 129 bytes of JSON
POLICY = Policy(size=100, ttl=3600, window=120)
CHANNELS = 10
BROADCASTS = 200  # per channel: past the first trim, as a channel that has lived
SESSIONS = 1_000


def session(n):
    """A recovery session as ``history.open_session`` records it."""
    return {"channel": f"rooms/room-{n % CHANNELS}", "user": str(1000 + n), "sid": secrets.token_urlsafe(15),
            "offset": "1732960000000-0"}


def traced(build):
    """The bytes that ``build()`` leaves allocated (what it returns is kept alive while measured)."""
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    kept = build()
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del kept
    return after - before


def fill(store):
    for n in range(BROADCASTS):
        for c in range(CHANNELS):
            store.append(f"rooms/room-{c}", POLICY, "message", MESSAGE)
    return store


def memory_run():
    kept = CHANNELS * POLICY.size
    entries = traced(lambda: fill(MemoryHistory(max_sessions=SESSIONS)))

    def sessions():
        store = MemoryHistory(max_sessions=SESSIONS)
        for n in range(SESSIONS):
            # Saved while its subscription lasts, then kept as an ended one: what MAX_RECOVERY_SESSIONS counts.
            pid, kept = new_pid(), session(n)
            store.save_session(pid, kept, POLICY.window)
            store.extend_session(pid, kept, POLICY.window)
        return store

    return {
        "bytes_per_entry": entries / kept,
        "channel_kb": entries / CHANNELS / 1000,
        "bytes_per_session": traced(sessions) / SESSIONS,
    }


def redis_run():
    store = RedisHistory(REDIS_URL, prefix=f"history_sizes_bench_{os.getpid()}_{secrets.token_hex(4)}")
    try:
        fill(store)
        streams = [store._key(f"rooms/room-{c}") for c in range(CHANNELS)]
        stream_bytes = sum(store.redis.memory_usage(key, samples=0) for key in streams)
        kept = sum(store.redis.xlen(key) for key in streams)
        pids = [new_pid() for _ in range(SESSIONS)]
        for n, pid in enumerate(pids):
            store.save_session(pid, session(n), POLICY.window)
        session_bytes = sum(store.redis.memory_usage(f"{store.prefix}:session:{pid}", samples=0) for pid in pids)
        return {
            "bytes_per_entry": stream_bytes / kept,
            "channel_kb": stream_bytes / CHANNELS / 1000,
            "bytes_per_session": session_bytes / SESSIONS,
            "entries_kept": kept / CHANNELS,
        }
    finally:
        keys = list(store.redis.scan_iter(f"{store.prefix}:*"))
        if keys:
            store.redis.delete(*keys)
        store.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--json", help="write the runs there too")
    args = parser.parse_args()
    results = {"history-size": {"memory": {"store": []}, "redis": {"store": []}}}
    for _ in range(args.runs):
        for row, run in (("memory", memory_run()), ("redis", redis_run())):
            results["history-size"][row]["store"].append(run)
            print(
                f"{row}: {run['bytes_per_entry']:.0f} bytes an entry, {run['channel_kb']:.1f} KB a channel keeping"
                f" {run.get('entries_kept', POLICY.size):.0f}, {run['bytes_per_session']:.0f} bytes a session"
            )
    if args.json:
        document = {"name": Path(args.json).stem, "machine": os.uname().release, "cpus": os.cpu_count(), "results": results}
        Path(args.json).write_text(json.dumps(document, indent=1) + "\n")


if __name__ == "__main__":
    main()
