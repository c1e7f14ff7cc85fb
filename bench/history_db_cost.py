"""What the database history store costs (docs/history.rst): per kept broadcast, per replay, per entry stored.

SQLite (a file) and PostgreSQL (``PGHOST``, ``PGPORT``, ``PGUSER``, ``PGPASSWORD``;
127.0.0.1 and postgres by default), one thread, the 129-byte message of
docs/history.rst's memory figures; a scratch database is created and dropped.
``--json`` writes the runs as bench.py writes its results (workload
``history-db``, rows ``sqlite`` and ``postgresql``, key ``store``), which
docs/history.rst reads through the ``:bench:`` role.

    .venv/bin/python bench/history_db_cost.py [--runs 3] [--json bench/results/history-db.json]
"""
import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import django  # noqa: E402
from django.conf import settings  # noqa: E402

PG = {"host": os.environ.get("PGHOST", "127.0.0.1"), "port": os.environ.get("PGPORT", "5432"),
      "user": os.environ.get("PGUSER", "postgres"), "password": os.environ.get("PGPASSWORD", "")}
SQLITE = os.path.join(tempfile.mkdtemp(), "cost.sqlite3")

settings.configure(
    INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "socketio_views"],
    DATABASES={
        "default": {"ENGINE": "django.db.backends.postgresql", "NAME": "history_db_cost", "HOST": PG["host"],
                    "PORT": PG["port"], "USER": PG["user"], "PASSWORD": PG["password"]},
        "sqlite": {"ENGINE": "django.db.backends.sqlite3", "NAME": SQLITE},
    },
    USE_TZ=True,
)
django.setup()

import psycopg  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connections  # noqa: E402

from socketio_views.history import Policy  # noqa: E402
from socketio_views.history_db import DatabaseHistory  # noqa: E402

MESSAGE = {"user": "alice", "text": "x" * 100}  # 129 bytes of JSON
POLICY = Policy(size=100, ttl=3600, window=120)


def timed(call, times):
    spent = []
    for n in range(times):
        start = time.perf_counter()
        result = call(n)
        spent.append(time.perf_counter() - start)
    return spent, result


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--json", help="write the runs there too")
    args = parser.parse_args()
    results = {"history-db": {"sqlite": {"store": []}, "postgresql": {"store": []}}}
    for _ in range(args.runs):
        for row, run in one_run().items():
            results["history-db"][row]["store"].append(run)
    if args.json:
        document = {"name": Path(args.json).stem, "machine": os.uname().release, "cpus": os.cpu_count(), "results": results}
        Path(args.json).write_text(json.dumps(document, indent=1) + "\n")


def one_run():
    """Measure both stores once; return ``{row: figures}``."""
    runs = {}
    if os.path.exists(SQLITE):
        os.unlink(SQLITE)
    with psycopg.connect(**PG, dbname="postgres", autocommit=True) as admin:
        admin.execute("DROP DATABASE IF EXISTS history_db_cost")
        admin.execute("CREATE DATABASE history_db_cost")
    try:
        for alias, row, name in (("sqlite", "sqlite", "SQLite (a file)"), ("default", "postgresql", f"PostgreSQL on {PG['host']}")):
            call_command("migrate", "socketio_views", database=alias, verbosity=0)
            store = DatabaseHistory(alias)
            for _ in range(200):  # warm up, and past the first trim
                store.append("warm", POLICY, "message", MESSAGE)
            offsets = []
            appends, _ = timed(lambda n: offsets.append(store.append(f"room-{n % 10}", POLICY, "message", MESSAGE)), 2_000)
            replays, replayed = timed(lambda n: store.after("room-3", offsets[-497]), 200)
            lasts, _ = timed(lambda n: store.last("room-3", 50), 200)
            print(
                f"{name}: keeping a broadcast median {statistics.median(appends) * 1e3:.2f} ms,"
                f" 95th percentile {statistics.quantiles(appends, n=20)[-1] * 1e3:.2f} ms;"
                f" replaying {len(replayed)} entries median {statistics.median(replays) * 1e3:.2f} ms;"
                f" the last 50 median {statistics.median(lasts) * 1e3:.2f} ms"
            )
            runs[row] = {
                "keep_p50_ms": statistics.median(appends) * 1e3,
                "keep_p95_ms": statistics.quantiles(appends, n=20)[-1] * 1e3,
                "replay_p50_ms": statistics.median(replays) * 1e3,
                "last50_p50_ms": statistics.median(lasts) * 1e3,
            }
            connections[alias].close()
        with psycopg.connect(**PG, dbname="history_db_cost", autocommit=True) as db:
            db.execute("VACUUM FULL socketio_views_historyentry")
            size = db.execute("SELECT pg_total_relation_size('socketio_views_historyentry')").fetchone()[0]
            rows = db.execute("SELECT count(*) FROM socketio_views_historyentry").fetchone()[0]
        print(f"PostgreSQL: {rows} entries in {size} bytes with their indexes: {size / rows:.0f} bytes an entry")
        runs["postgresql"]["bytes_per_entry"] = size / rows
    finally:
        with psycopg.connect(**PG, dbname="postgres", autocommit=True) as admin:
            admin.execute("DROP DATABASE IF EXISTS history_db_cost")
    import sqlite3

    db = sqlite3.connect(SQLITE)
    db.execute("VACUUM")
    rows = db.execute("SELECT count(*) FROM socketio_views_historyentry").fetchone()[0]
    size = db.execute(
        "SELECT sum(pgsize) FROM dbstat WHERE name LIKE 'socketio_views_historyentry%' OR name LIKE '%socketio_views_entry%'"
    ).fetchone()[0]
    print(f"SQLite: {rows} entries in {size} bytes with their indexes (dbstat): {size / rows:.0f} bytes an entry")
    db.close()
    runs["sqlite"]["bytes_per_entry"] = size / rows
    return runs


if __name__ == "__main__":
    main()
