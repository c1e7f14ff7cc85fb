#!/usr/bin/env python3
"""
The socketio_views soak: one runserver_socketio process of the bench project
(pinned to core 0, in its own process group) under minutes of mixed traffic
from bench/node/soak.js (pinned to core 1): 1,000 official socket.io-client
connections over the rooms of a channel with history, messages at a steady
rate, churn, transport drops that must recover, a slow consumer that must be
ended with ``slow_consumer``, and a flood of refused packets. Every delivery is
checked; the server's RSS and live greenlets are read at the start, in the
middle and at the end.

    bash bench/run.sh --soak                      # 10 minutes, 1,000 clients
    bash bench/run.sh --soak --minutes 2 --clients 300 --name short

Writes bench/results/soak-<name>.json and .md with the two rules the soak must
hold: RSS at the end (after every client left and the server settled) within
5 % of the middle, and live greenlets back to the start's. The JSON's
``results`` section gives the figures in bench.py's shape, which the docs'
``:bench:`` role reads (docs/benchfigures.py). Not a test: never
run by CI. Standard library only; run it with the project's venv python.
"""
import argparse
import collections
import datetime
import json
import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402  (the driver's process handling, shared)
from bench import LOGS, MAIN_PY, NODE, NODE_DIR, PROCS, PROJECT, REPO, RESULTS, WORK, log  # noqa: E402

#: The end's RSS may exceed the middle's by this fraction.
RSS_TOLERANCE = 0.05

DEFAULTS = {
    "minutes": 10.0,
    "clients": 1000,
    "rooms": 50,
    "message_rate": 200,
    "churn_per_s": 2.0,
    "drops_per_s": 1.0,
    "flood_members": 10,
    "flood_rate": 20,
    "flood_bytes": 16000,
    "refused_rate": 20,
    "settle_max_s": 180,
}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--minutes", type=float, default=DEFAULTS["minutes"], help="minutes of traffic (default 10)")
    p.add_argument("--clients", type=int, default=DEFAULTS["clients"], help="socket.io-client connections (default 1000)")
    p.add_argument("--rooms", type=int, default=DEFAULTS["rooms"], help="rooms they are spread over (default 50)")
    p.add_argument("--message-rate", type=float, default=DEFAULTS["message_rate"], help="messages/s over all rooms (default 200)")
    p.add_argument("--churn", type=float, default=DEFAULTS["churn_per_s"], help="clients leaving (and joining) per second (default 2)")
    p.add_argument("--drops", type=float, default=DEFAULTS["drops_per_s"], help="transports closed per second (default 1)")
    p.add_argument("--flood-rate", type=float, default=DEFAULTS["flood_rate"], help="messages/s in the slow consumer's room (default 20)")
    p.add_argument("--flood-bytes", type=int, default=DEFAULTS["flood_bytes"], help="bytes of each of them (default 16000)")
    p.add_argument("--refused-rate", type=float, default=DEFAULTS["refused_rate"], help="refused packets/s (default 20)")
    p.add_argument("--settle-max", type=float, default=DEFAULTS["settle_max_s"],
                   help="seconds the server may take, once the clients left, to come back to the start's greenlets (default 180)")
    p.add_argument("--setting", action="append", default=[], metavar="NAME=JSON",
                   help="a SOCKETIO_VIEWS setting of the server, e.g. MAX_QUEUED_BYTES=2000000 (repeatable)")
    p.add_argument("--name", help="results name: bench/results/soak-<name>.{md,json} (default: full for the defaults, else <minutes>min-<clients>)")
    opts = p.parse_args(argv)
    if opts.clients <= DEFAULTS["flood_members"] or opts.rooms < 1 or opts.minutes <= 0:
        p.error("need more than 10 clients, at least one room and some minutes")
    opts.settings = {}
    for item in opts.setting:
        name, sep, value = item.partition("=")
        try:
            opts.settings[name] = json.loads(value)
        except ValueError:
            sep = ""
        if not sep or not name.isupper():
            p.error(f"--setting {item!r}: give NAME=JSON, e.g. MAX_QUEUED_BYTES=2000000 or MAX_SUBSCRIPTIONS=null")
    if not opts.name:
        default = opts.minutes == DEFAULTS["minutes"] and opts.clients == DEFAULTS["clients"]
        opts.name = "full" if default else f"{opts.minutes:g}min-{opts.clients}"
    return opts


def _cpu_ticks():
    ticks = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2 :].split()
            ticks[int(entry.name)] = int(fields[11]) + int(fields[12])
    return ticks


def other_load(seconds=3):
    """The processes that used the most CPU over the next ``seconds`` (other people's load shows up in the figures)."""
    before = _cpu_ticks()
    time.sleep(seconds)
    after = _cpu_ticks()
    hz = os.sysconf("SC_CLK_TCK")
    busy = sorted(((after[pid] - before.get(pid, after[pid])) / hz / seconds * 100, pid) for pid in after)
    lines = []
    for pct, pid in reversed(busy[-8:]):
        if pct < 1:
            break
        try:
            args = " ".join(Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").split())
            if not args:
                args = f"[{Path(f'/proc/{pid}/comm').read_text().strip()}]"
        except OSError:
            args = "?"
        lines.append(f"{pct:5.1f} % CPU  pid {pid}  {args[:130]}")
    return lines or ["(no process above 1 % CPU)"]


def versions():
    code = (
        "import json, platform\n"
        "from importlib.metadata import version\n"
        "v = {'Python': platform.python_version()}\n"
        "for d in ('socketio-views', 'Django', 'python-socketio', 'python-engineio', 'gevent', 'gevent-websocket', 'greenlet'):\n"
        "    try: v[d] = version(d)\n"
        "    except Exception: v[d] = None\n"
        "print(json.dumps(v))\n"
    )
    out, err = bench.python_probe(MAIN_PY, code)
    result = {"project venv": json.loads(out) if out else {"error": err}}
    node = {}
    try:
        node["Node"] = subprocess.run([NODE, "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
        for pkg in ("socket.io-client", "engine.io-client", "ws"):
            pj = NODE_DIR / "node_modules" / pkg / "package.json"
            node[pkg] = json.loads(pj.read_text())["version"] if pj.exists() else None
    except (OSError, subprocess.TimeoutExpired) as exc:
        node["error"] = str(exc)
    result["node"] = node
    return result


def git_revision():
    """The socketio_views the server imports (from the bench project, as it runs), and its git commit."""
    try:
        package = subprocess.run(
            [MAIN_PY, "-c", "import os, socketio_views; print(os.path.dirname(os.path.dirname(socketio_views.__file__)))"],
            cwd=PROJECT, capture_output=True, text=True, timeout=60,
        ).stdout.strip() or str(REPO)
    except (OSError, subprocess.TimeoutExpired):
        package = str(REPO)

    def git(*args):
        try:
            return subprocess.run(["git", "-C", package, *args], capture_output=True, text=True, timeout=30).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            return ""

    return {
        "package": package,
        "commit": git("rev-parse", "--short", "HEAD"),
        "dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
    }


# --------------------------------------------------------------------------- running


def start_server(log_path, settings):
    port = bench.free_port()
    env = {"BENCH_WORK_DIR": str(WORK), "PYTHONUNBUFFERED": "1", "BENCH_STATS": "1"}
    if settings:
        env["BENCH_SOCKETIO_VIEWS"] = json.dumps(settings)
    cmd = [MAIN_PY, "manage.py", "runserver_socketio", "--noreload", f"127.0.0.1:{port}"]
    proc = PROCS.spawn(cmd, core=bench.SERVER_CORE, cwd=PROJECT, env=env, log_path=log_path)
    if not bench.wait_port(port, proc):
        PROCS.kill(proc)
        raise RuntimeError(f"the server did not start; see {log_path}")
    return proc, port


def run_clients(config):
    cfg_path = WORK / "soak.config.json"
    out_path = WORK / "soak.json"
    cfg_path.write_text(json.dumps(config))
    out_path.unlink(missing_ok=True)
    proc = PROCS.spawn(
        [NODE, NODE_DIR / "soak.js", cfg_path, out_path],
        core=bench.LOADGEN_CORE,
        cwd=NODE_DIR,
        log_path=LOGS / "soak-clients.log",
    )
    try:
        proc.wait(config["deadline_s"] + 60)
    except subprocess.TimeoutExpired:
        log("soak.js overran its deadline; killed")
    finally:
        PROCS.kill(proc)
    try:
        return json.loads(out_path.read_text())
    except (OSError, ValueError):
        return {"error": f"soak.js wrote no result; see {LOGS / 'soak-clients.log'}"}


_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ ")
_ACCESS = re.compile(r'^\S+ - - \[[^\]]+\] "')
_SID = re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{20}(?![A-Za-z0-9_-])")


def scan_log(path):
    """What the server logged: tracebacks, and each kind of warning or error with its count."""
    counts = collections.Counter()
    lines = tracebacks = access = 0
    first_traceback = []
    in_traceback = False
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return {"error": f"no log at {path}"}
    for line in text.splitlines():
        lines += 1
        if line.startswith("Traceback (most recent call last)"):
            tracebacks += 1
            in_traceback = tracebacks == 1
        if in_traceback and len(first_traceback) < 40:
            first_traceback.append(line)
            if line and not line.startswith((" ", "Traceback", "During handling", "The above exception")):
                in_traceback = False
        if _ACCESS.match(line):
            access += 1
            continue
        m = _TIMESTAMP.match(line)
        if m:
            rest = line[m.end():]
            kind = re.sub(r"\d+", "N", _SID.sub("<id>", rest))
            counts[kind[:160]] += 1
    return {
        "lines": lines,
        "access_log_lines": access,
        "tracebacks": tracebacks,
        "first_traceback": "\n".join(first_traceback),
        "messages": dict(counts.most_common(30)),
    }


def verdicts(result):
    """The two rules the soak must hold, and the checks reported beside them."""
    phases = result.get("phases", {})
    start, middle, end = phases.get("start") or {}, phases.get("middle") or {}, phases.get("end") or {}
    rules = {}
    if middle.get("rss_kb") and end.get("rss_kb"):
        change = (end["rss_kb"] - middle["rss_kb"]) / middle["rss_kb"]
        rules["rss"] = {
            "rule": "RSS at the end within 5 % of the middle",
            "middle_kb": middle["rss_kb"],
            "end_kb": end["rss_kb"],
            "change_pct": round(100 * change, 2),
            "pass": change <= RSS_TOLERANCE,
        }
    else:
        rules["rss"] = {"rule": "RSS at the end within 5 % of the middle", "pass": False, "error": "a reading is missing"}
    if start.get("greenlets_alive") is not None and end.get("greenlets_alive") is not None:
        rules["greenlets"] = {
            "rule": "greenlets back to the baseline after clients leave",
            "start": start["greenlets_alive"],
            "middle": middle.get("greenlets_alive"),
            "end": end["greenlets_alive"],
            "settled_after_s": end.get("after_leaving_s"),
            "pass": end["greenlets_alive"] <= start["greenlets_alive"],
        }
    else:
        rules["greenlets"] = {"rule": "greenlets back to the baseline after clients leave", "pass": False, "error": "a reading is missing"}

    d = result.get("deliveries") or {}
    ev = result.get("events") or {}
    slow = result.get("slow_consumers") or []
    refused = result.get("refused") or {}
    server_log = result.get("server_log") or {}
    checks = {
        "no gap": d.get("gaps") == 0,
        "no duplicate": d.get("duplicates") == 0,
        "no reordering": d.get("reordered") == 0,
        "every drop recovered": ev.get("not_recovered") == 0 and ev.get("still_reconnecting_at_end") == 0,
        "no unexpected disconnect": not ev.get("unexpected_disconnects"),
        # None: the traffic was too short for one (slow_min_left_s).
        "every slow consumer ended with slow_consumer": all(e.get("outcome") == "slow_consumer" for e in slow) if slow else None,
        "every refused packet answered with its code": bool(refused.get("sent")) and refused.get("mismatched") == 0
        and refused.get("unanswered") == 0 and refused.get("not_closed") == 0 and refused.get("closed_unexpectedly") == 0,
        "no traceback in the server log": server_log.get("tracebacks") == 0,
        "no socket or subscription left": end.get("engineio_sockets") == 0 and end.get("subscriptions") == 0,
        "server alive throughout": bool(result.get("server_alive")),
    }
    return rules, checks


def results(doc):
    """The run's figures in bench.py's shape, for the docs' ``:bench:`` role.

    ``{"soak": {"socketio_views": {"<minutes>min-<clients>": [run]}}}``, the run
    a flat dict of figures taken from what the soak already recorded (no new
    measurement): the server's RSS (MB) and live greenlets at the start, the
    middle and the end, the deliveries, the transport drops and their recovery
    time, the slow consumers and the refused packets.
    """
    r = doc.get("result") or {}
    phases = r.get("phases") or {}
    d = r.get("deliveries") or {}
    ev = r.get("events") or {}
    slow = r.get("slow_consumers") or []
    refused = r.get("refused") or {}
    run = {}
    for label in ("start", "middle", "end"):
        phase = phases.get(label) or {}
        run[f"rss_{label}_mb"] = phase["rss_kb"] / 1024 if phase.get("rss_kb") is not None else None
        run[f"greenlets_{label}"] = phase.get("greenlets_alive")
    full_for = [e["full_for_s"] for e in slow if e.get("full_for_s") is not None]
    run.update(
        greenlets_settled_after_s=(phases.get("end") or {}).get("after_leaving_s"),
        deliveries_expected=d.get("expected"),
        deliveries_delivered=d.get("delivered_of_expected"),
        gaps=d.get("gaps"),
        duplicates=d.get("duplicates"),
        reordered=d.get("reordered"),
        delivery_p50_ms=(d.get("latency") or {}).get("p50_ms"),
        delivery_p99_ms=(d.get("latency") or {}).get("p99_ms"),
        drops=ev.get("drops"),
        drops_recovered=ev.get("recovered"),
        recovery_p99_ms=(ev.get("recovery_ms") or {}).get("p99_ms"),
        slow_consumers=len(slow),
        slow_consumers_ended=sum(e.get("outcome") == "slow_consumer" for e in slow),
        # How long the longest-full queue had been full when its slow consumer was ended.
        slow_full_for_max_s=max(full_for) if full_for else None,
        refused_packets=sum((refused.get("sent") or {}).values()),
        tracebacks=(r.get("server_log") or {}).get("tracebacks"),
    )
    o = doc["options"]
    return {"soak": {"socketio_views": {f"{o['minutes']:g}min-{o['clients']}": [run]}}}


def add_results(path):
    """Add the ``results`` section to a soak's JSON written before the soak wrote one; the rest is kept as it is."""
    path = Path(path)
    doc = json.loads(path.read_text())
    doc["results"] = results(doc)
    path.write_text(json.dumps(doc, indent=1))


# --------------------------------------------------------------------------- report


def mb(kb):
    return "–" if kb is None else f"{kb / 1024:.1f}"


def fmt(x):
    if x is None:
        return "–"
    if isinstance(x, float):
        return f"{x:,.2f}"
    if isinstance(x, int):
        return f"{x:,}"
    return str(x)


def table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(fmt(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def render(doc):
    r = doc["result"]
    o = doc["options"]
    rules, checks = doc["rules"], doc["checks"]
    lines = [
        f"# Soak `{doc['name']}`: {o['clients']:,} clients, {o['minutes']:g} minutes",
        "",
        f"{doc['started']} to {doc['finished']} ({doc['wall_s']:.0f} s in all), socketio_views at "
        f"`{doc['revision']['commit']}`{' (with local changes)' if doc['revision']['dirty'] else ''} "
        f"(`{doc['revision'].get('package')}`). "
        f"Command: `{doc['command']}`.",
        "",
        "One `runserver_socketio` process of the bench project (core 0) and `node/soak.js` (core 1), "
        "as described in bench/README.md (\"The soak\"). Readings of the server come from its own "
        "`/stats/` (a full collection first; greenlets not yet finished, RSS from /proc).",
        "",
    ]
    if r.get("error"):
        lines += [f"**The run did not finish: {r['error']}**", ""]
    lines += ["## Must hold", ""]
    rss, gr = rules["rss"], rules["greenlets"]
    lines.append(table(
        ["rule", "figures", "result"],
        [
            [rss["rule"], rss.get("error") or f"middle {mb(rss['middle_kb'])} MB, end {mb(rss['end_kb'])} MB ({rss['change_pct']:+.2f} %)",
             "**pass**" if rss["pass"] else "**FAIL**"],
            [gr["rule"], gr.get("error") or f"start {gr['start']}, middle {fmt(gr['middle'])}, end {gr['end']} "
             f"({fmt(gr['settled_after_s'])} s after the clients left)", "**pass**" if gr["pass"] else "**FAIL**"],
        ],
    ))
    lines += ["", "Checked beside them:", ""]
    lines += [f"- {'not run' if ok is None else 'pass' if ok else '**FAIL**'}: {name}" for name, ok in checks.items()]

    lines += ["", "## The server", ""]
    phases = r.get("phases", {})
    rows = []
    for label in ("cold", "start", "middle", "end_of_traffic", "end"):
        p = phases.get(label) or {}
        rows.append([
            label.replace("_", " "), fmt(p.get("at_s")), fmt(p.get("live_clients")), mb(p.get("rss_kb")),
            fmt(p.get("greenlets_alive")), fmt(p.get("greenlets")), fmt(p.get("engineio_sockets")),
            fmt(p.get("subscriptions")), fmt(p.get("open_files")), fmt(p.get("history_sessions")), fmt(p.get("took_ms")),
        ])
    lines.append(table(
        ["reading", "at (s)", "live clients", "RSS (MB)", "greenlets alive", "greenlet objects", "Engine.IO sockets",
         "subscriptions", "open files", "recovery sessions", "count took (ms)"],
        rows,
    ))
    lines += [
        "",
        "*cold*: before anything; *start*: after a warm-up of "
        f"{r.get('config', {}).get('warmup_clients', '–')} clients that left (it starts what the server starts on "
        "first use), before the clients; *middle*: halfway through the traffic; *end of traffic*: the traffic "
        "stopped and drained, clients still connected; *end*: after every client left, once the greenlets were "
        "back to the start's (or the settle limit).",
        "",
    ]
    for label in ("start", "middle", "end"):
        kinds = (phases.get(label) or {}).get("greenlet_kinds")
        if kinds:
            lines.append(f"Live greenlets at *{label}*: " + ", ".join(f"`{k}` {v}" for k, v in kinds.items()))
            lines.append("")

    d = r.get("deliveries") or {}
    lat = d.get("latency") or {}
    replay = d.get("replay_latency") or {}
    lines += ["## Deliveries", ""]
    lines.append(table(
        ["messages sent", "acknowledged", "unconfirmed", "expected deliveries", "delivered of those", "gaps",
         "duplicates", "reordered", "deliveries received", "missed across unrecovered reconnects"],
        [[d.get("sent"), d.get("acked"), d.get("unconfirmed"), d.get("expected"), d.get("delivered_of_expected"),
          d.get("gaps"), d.get("duplicates"), d.get("reordered"), d.get("received"), d.get("missed_across_unrecovered")]],
    ))
    lines += [
        "",
        f"Latency from emit to delivery, live: p50 {fmt(lat.get('p50_ms'))} ms, p99 {fmt(lat.get('p99_ms'))} ms, "
        f"p99.9 {fmt(lat.get('p999_ms'))} ms, max {fmt(lat.get('max_ms'))} ms; replayed after a recovered "
        f"reconnect ({fmt(replay.get('count'))} deliveries): p50 {fmt(replay.get('p50_ms'))} ms, "
        f"p99 {fmt(replay.get('p99_ms'))} ms, max {fmt(replay.get('max_ms'))} ms. "
        f"Acknowledgements that failed: {d.get('ack_errors') or 'none'}; refused: {fmt(d.get('ack_refused'))}.",
        "",
        "*Unconfirmed*: neither acknowledged nor received by anyone (lost between a sender whose transport "
        "was closed and the server); not expected of anyone. *Expected*: for every client and every span it was "
        "subscribed (a recovered reconnect does not end a span), each message of its room emitted after the span "
        "began and confirmed (acknowledged or received) at least "
        f"{r.get('config', {}).get('grace_ms', '–')} ms before it ended.",
        "",
    ]
    if d.get("gap_samples"):
        lines += ["First gaps: " + "; ".join(json.dumps(g) for g in d["gap_samples"][:5]), ""]

    ev = r.get("events") or {}
    rec = ev.get("recovery_ms") or {}
    lines += ["## Churn and reconnects", ""]
    lines.append(table(
        ["subscribed at start", "joins", "join failures", "leaves", "transport drops", "recovered", "not recovered",
         "still reconnecting at the end", "recovery p50 / p99 / max (ms)"],
        [[(r.get("connect") or {}).get("subscribed"), ev.get("joins"), ev.get("join_failures"), ev.get("leaves"),
          ev.get("drops"), ev.get("recovered"), ev.get("not_recovered"), ev.get("still_reconnecting_at_end"),
          f"{fmt(rec.get('p50_ms'))} / {fmt(rec.get('p99_ms'))} / {fmt(rec.get('max_ms'))}"]],
    ))
    lines += [
        "",
        f"Disconnects the soak did not cause: {ev.get('unexpected_disconnects') or 'none'}. "
        f"Subscriptions refused (`connect_error`): {ev.get('connect_errors') or 'none'}. "
        f"`error` events received by the clients: {ev.get('error_events') or 'none'}.",
        "",
    ]

    slow = r.get("slow_consumers") or []
    lines += ["## Slow consumers", ""]
    lines.append(table(
        ["#", "started (s)", "outcome", "stall to verdict (s)", "queued when ended", "read after (frames / KB)",
         "closed after verdict (s)"],
        [[i + 1, e.get("started_s"), e.get("outcome"), e.get("stall_to_verdict_s"),
          (f"{fmt(e.get('queued_messages'))} messages, {fmt(e.get('queued_bytes'))} bytes"
           + (f", full for {e['full_for_s']} s" if e.get("full_for_s") is not None else ""))
          if e.get("queued_bytes") is not None else "–",
          f"{fmt(e.get('frames_read_after'))} / {fmt((e.get('bytes_read_after') or 0) // 1024)}", e.get("closed_s_after_verdict")]
         for i, e in enumerate(slow)],
    ))
    ref = r.get("refused") or {}
    lines += ["", "## Refused packets", ""]
    lines += [
        f"Sent, by kind: {ref.get('sent') or 'none'}.",
        "",
        f"Answers: {ref.get('answers') or 'none'}; mismatched {fmt(ref.get('mismatched'))}, unanswered {fmt(ref.get('unanswered'))}"
        + (f" (first: {ref.get('mismatch_samples')[:3]})" if ref.get("mismatch_samples") else "") + ".",
        "",
        f"Packets that close the connection: {ref.get('closers_sent') or 'none'}; closed as expected "
        f"{fmt(ref.get('closed_as_expected'))}, not closed {fmt(ref.get('not_closed'))}, closed unexpectedly "
        f"{fmt(ref.get('closed_unexpectedly'))}; connections {fmt(ref.get('connections'))}.",
        "",
    ]

    slog = r.get("server_log") or {}
    lines += ["## Server log", ""]
    lines += [
        f"{fmt(slog.get('lines'))} lines, of which {fmt(slog.get('access_log_lines'))} from pywsgi's access log; "
        f"{fmt(slog.get('tracebacks'))} tracebacks.",
        "",
    ]
    if slog.get("messages"):
        lines.append(table(["count", "message (ids and numbers masked)"],
                           [[v, k.replace("|", "\\|")] for k, v in slog["messages"].items()]))
        lines.append("")
    if slog.get("first_traceback"):
        lines += ["First traceback:", "", "```", slog["first_traceback"], "```", ""]

    timeline = r.get("timeline") or []
    if timeline:
        step = max(1, len(timeline) // 20)
        lines += ["## Timeline", ""]
        lines.append(table(
            ["t (s)", "RSS (MB)", "server CPU (%)", "clients' CPU (%)", "load average (1 min)", "live clients",
             "messages sent", "deliveries received"],
            [[p["t_s"], mb(p["rss_kb"]), p["server_cpu_pct"], p.get("clients_cpu_pct"), p.get("loadavg_1m"),
              p["live_clients"], p["sent"], p["received"]]
             for p in timeline[::step]],
        ))
        lines.append("")
    settle = r.get("settle") or []
    if settle:
        lines += ["After the clients left:", ""]
        lines.append(table(
            ["s after leaving", "RSS (MB)", "greenlets alive", "Engine.IO sockets", "subscriptions"],
            [[s["t_s"], mb(s["rss_kb"]), s["greenlets_alive"], s["engineio_sockets"], s["subscriptions"]] for s in settle],
        ))
        lines.append("")

    m = doc["machine"]
    lines += ["## Machine and versions", ""]
    lines += [
        f"{m.get('cpus')} CPUs ({m.get('cpu_model')}), kernel {m.get('kernel')}; load average "
        f"{', '.join(f'{x:.2f}' for x in m.get('load_before', []))} before and "
        f"{', '.join(f'{x:.2f}' for x in doc.get('load_after', []))} after.",
        "",
        "Processes above 1 % CPU over 3 s before the soak started, and after it ended (other people's load "
        "shows up in the figures; the timeline gives the load average every 10 s):",
        "",
        "```",
        *doc.get("other_load_before", []),
        "--- after",
        *doc.get("other_load_after", []),
        "```",
        "",
        "Versions: " + "; ".join(f"{k}: " + ", ".join(f"{n} {v}" for n, v in vs.items()) for k, vs in doc["versions"].items()),
        "",
    ]
    c = r.get("config") or {}
    lines += [
        f"Server settings given: {json.dumps(o.get('settings'))}." if o.get("settings") else "Server settings: the defaults.",
        "",
        "Settings: " + ", ".join(
            f"{k} {c.get(k)}" for k in (
                "clients", "rooms", "minutes", "message_rate", "churn_per_s", "drops_per_s", "flood_members",
                "flood_rate", "flood_bytes", "slow_pause_s", "refused_rate", "refused_closer_every", "ack_timeout_ms",
                "grace_ms", "settle_max_s",
            )
        ) + ".",
        "",
    ]
    return "\n".join(lines)


# --------------------------------------------------------------------------- main


def main(argv=None):
    opts = parse_args(argv)
    bench.install_cleanup()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # inherited by the server and soak.js
    started = time.time()
    bench.prepare()
    server_log = LOGS / "soak-server.log"
    server_log.unlink(missing_ok=True)
    (LOGS / "soak-clients.log").unlink(missing_ok=True)
    log(f"soak {opts.name}: {opts.clients} clients over {opts.rooms} rooms for {opts.minutes:g} minutes")
    doc = {
        "name": opts.name,
        "command": "bash bench/run.sh --soak " + " ".join(sys.argv[1:] if argv is None else argv),
        "started": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "options": vars(opts),
        "revision": git_revision(),
        "versions": versions(),
        "machine": bench.machine(),
        "other_load_before": other_load(),
    }
    config = {
        "minutes": opts.minutes,
        "clients": opts.clients,
        "rooms": opts.rooms,
        "message_rate": opts.message_rate,
        "churn_per_s": opts.churn,
        "drops_per_s": opts.drops,
        "flood_rate": opts.flood_rate,
        "flood_bytes": opts.flood_bytes,
        "refused_rate": opts.refused_rate,
        "settle_max_s": opts.settle_max,
        "server_log": str(server_log),
        # Warm-up, connecting, traffic, drain, settle, with room to spare.
        "deadline_s": int(180 + opts.clients / 10 + opts.minutes * 60 + opts.settle_max),
    }
    try:
        proc, port = start_server(server_log, opts.settings)
        config.update(target=f"http://127.0.0.1:{port}", server_pid=proc.pid)
        log(f"server pid {proc.pid} on port {port}; clients running (log: {LOGS / 'soak-clients.log'})")
        result = run_clients(config)
        result["server_alive"] = result.get("server_alive", False) and proc.poll() is None
    except KeyboardInterrupt:
        log("interrupted: stopping the server and the clients")
        PROCS.kill_all()
        return 130
    except RuntimeError as exc:
        result = {"error": str(exc)}
    finally:
        PROCS.kill_all()
    result["server_log"] = scan_log(server_log)
    doc["result"] = result
    doc["rules"], doc["checks"] = verdicts(result)
    doc["results"] = results(doc)
    doc["load_after"] = os.getloadavg()
    doc["other_load_after"] = other_load()
    doc["wall_s"] = round(time.time() - started, 1)
    doc["finished"] = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
    RESULTS.mkdir(parents=True, exist_ok=True)
    json_path = RESULTS / f"soak-{opts.name}.json"
    md_path = RESULTS / f"soak-{opts.name}.md"
    json_path.write_text(json.dumps(doc, indent=1))
    md_path.write_text(render(doc))
    for rule in doc["rules"].values():
        log(f"{'pass' if rule['pass'] else 'FAIL'}: {rule['rule']}")
    for name, ok in doc["checks"].items():
        log(f"{'not run' if ok is None else 'pass' if ok else 'FAIL'}: {name}")
    log(f"wrote {md_path.relative_to(REPO)} and {json_path.name} ({doc['wall_s']} s)")
    return 0 if all(rule["pass"] for rule in doc["rules"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
