#!/usr/bin/env python3
"""
Render a bench result: ``python report.py bench/results/<name>.json``.

Writes bench/results/<name>.md (Markdown tables: each server's figure, its
ratio to the socketio_views runserver row, the load generator's CPU beside
it, the versions used) and, when matplotlib is importable (bench/.venv-channels
has it), bench/results/<name>-fanout-latency.png: p99 and p50 latency against
the offered load of the fan-out workload. Prints the Markdown too.

Figures are medians over the runs, with the range (min-max) in brackets when
there was more than one run.
"""
import json
import statistics
import sys
from pathlib import Path

P99_LIMIT_MS = 100


# --------------------------------------------------------------------------- numbers


def values(runs, getter):
    out = []
    for r in runs:
        try:
            v = getter(r)
        except (KeyError, TypeError, AttributeError):
            v = None
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            out.append(v)
    return out


def us_per_delivery(run):
    """Server CPU time per delivery (µs) in the moderate-load step, or None."""
    step = run.get("moderate") or {}
    cpu, rate = step.get("server_cpu_pct"), step.get("received")
    if cpu is None or not rate or not step.get("duration_s"):
        return None
    return cpu / 100 * step["duration_s"] * 1e6 / rate


def median(vals):
    return statistics.median(vals) if vals else None


def fmt_num(v, digits=0):
    if v is None:
        return "—"
    if digits == 0:
        return f"{v:,.0f}"
    return f"{v:,.{digits}f}"


def cell(runs, getter, digits=0, suffix=""):
    """Median, with the range when the runs disagree."""
    vals = values(runs, getter)
    if not vals:
        return "—"
    text = fmt_num(median(vals), digits) + suffix
    if len(vals) > 1 and min(vals) != max(vals):
        text += f" ({fmt_num(min(vals), digits)}–{fmt_num(max(vals), digits)})"
    return text


def ratio(value, base):
    if value is None or base in (None, 0):
        return "—"
    return f"×{value / base:.2f}"


def table(headers, rows):
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    for row in rows:
        lines.append("| " + " | ".join(str(c) for c in row) + " |")
    return "\n".join(lines)


def errors(runs):
    errs = sorted({r.get("error") for r in runs if r.get("error")})
    return "; ".join(errs)


# --------------------------------------------------------------------------- sections


def section_fanout(doc):
    res = doc["results"].get("fanout")
    if not res:
        return ""
    base = doc["baseline"]
    out = [
        "## Fan-out: one channel, N subscribers, one publisher",
        "",
        "The highest offered rate at which every delivery arrived, in order, once, with p99 latency "
        f"under {P99_LIMIT_MS} ms (stepped up by doubling, then bisected); the deliveries/s actually "
        "received at that rate, the latency there, and the server's CPU at a fixed offered load of "
        "50,000 deliveries/s. The load generator's own CPU (core 1) is beside each figure: near 100 % "
        "the generator, not the server, is the limit. At 20,000 deliveries/s offered, which no server "
        "here is saturated by, the server's CPU time per delivery (µs) measures the per-message path "
        "without the noise of the saturation search; beside it, the TCP segments the machine sent per "
        "delivery (/proc/net/snmp OutSegs: data and acknowledgements, both directions of loopback).",
    ]
    ns = sorted({k for per in res.values() for k in per}, key=lambda k: int(k.split("=")[1]))
    for key in ns:
        base_runs = res.get(base, {}).get(key, [])
        base_rate = median(values(base_runs, lambda r: r["best"]["delivered_per_s"]))
        base_cpu = median(values(base_runs, lambda r: r["fixed"]["server_cpu_pct"]))
        base_us = median(values(base_runs, us_per_delivery))
        rows = []
        for name, label in doc["servers"].items():
            runs = res.get(name, {}).get(key)
            if not runs:
                continue
            rate = median(values(runs, lambda r: r["best"]["delivered_per_s"]))
            cpu50 = median(values(runs, lambda r: r["fixed"]["server_cpu_pct"]))
            notes = []
            if errors(runs):
                notes.append(errors(runs))
            if any(r.get("search_capped") for r in runs):
                notes.append("passed up to the highest rate tried")
            if any(r.get("best") is None and not r.get("error") for r in runs):
                if any(r.get("latency_bound") for r in runs):
                    slow = [
                        s for r in runs for s in r.get("steps", [])
                        if s.get("p50_ms") is not None and s.get("purpose") not in ("warmup", "fixed", "moderate")
                    ]
                    low = min(slow, key=lambda s: s["offered_deliveries_per_s"]) if slow else {}
                    notes.append(
                        "no rate passed: one broadcast to all N takes longer than 100 ms "
                        f"(p50 {fmt_num(low.get('p50_ms'), 0)} ms at {fmt_num(low.get('offered_deliveries_per_s'))}/s offered)"
                    )
                else:
                    notes.append("no rate passed")
            fixed_failed = [r["fixed"] for r in runs if r.get("fixed") and not r["fixed"].get("pass")]
            if fixed_failed:
                delivered = median([f["delivered_per_s"] for f in fixed_failed if f.get("delivered_per_s") is not None])
                notes.append(f"did not sustain 50,000/s (delivered {fmt_num(delivered)}/s)")
            if any((r.get("best") or {}).get("loadgen_cpu_pct", 0) >= 85 for r in runs):
                notes.append("generator near its limit")
            rows.append(
                [
                    label,
                    cell(runs, lambda r: r["best"]["delivered_per_s"]),
                    ratio(rate, base_rate),
                    cell(runs, lambda r: r["best"]["p50_ms"], 1) + " / " + cell(runs, lambda r: r["best"]["p99_ms"], 1),
                    cell(runs, lambda r: r["best"]["server_cpu_pct"], 0, " %"),
                    cell(runs, lambda r: r["best"]["loadgen_cpu_pct"], 0, " %"),
                    cell(runs, lambda r: r["fixed"]["server_cpu_pct"], 0, " %"),
                    ratio(cpu50, base_cpu),
                    cell(runs, lambda r: r["fixed"]["loadgen_cpu_pct"], 0, " %"),
                    cell(runs, us_per_delivery, 1, " µs"),
                    ratio(median(values(runs, us_per_delivery)), base_us),
                    cell(runs, lambda r: r["moderate"]["tcp_segments_per_delivery"], 2),
                    "; ".join(notes),
                ]
            )
        out += [
            "",
            f"### {key.replace('N=', 'N = ')} subscribers",
            "",
            table(
                [
                    "server",
                    "deliveries/s at p99 < 100 ms",
                    "× vs socketio_views",
                    "p50 / p99 ms there",
                    "server CPU there",
                    "generator CPU there",
                    "server CPU at 50,000/s offered",
                    "× CPU",
                    "generator CPU at 50,000/s",
                    "server CPU per delivery at 20,000/s",
                    "× per delivery",
                    "TCP segments per delivery at 20,000/s",
                    "notes",
                ],
                rows,
            ),
        ]
    return "\n".join(out)


def section_idle(doc):
    res = doc["results"].get("idle")
    if not res:
        return ""
    base = doc["baseline"]
    out = [
        "## Idle connections: K subscribed connections",
        "",
        "Each K on a fresh server: RSS per connection = (server RSS after K connections settled − RSS "
        "after a 20-connection warm-up) / K; connections/s = K / the time to open and subscribe all K, "
        "100 handshakes in flight at a time.",
    ]
    ks = sorted({k for per in res.values() for k in per}, key=lambda k: int(k.split("=")[1]))
    for key in ks:
        base_runs = res.get(base, {}).get(key, [])
        base_rss = median(values(base_runs, lambda r: r["rss_per_conn_kb"]))
        base_rate = median(values(base_runs, lambda r: r["connections_per_s"]))
        rows = []
        for name, label in doc["servers"].items():
            runs = res.get(name, {}).get(key)
            if not runs:
                continue
            notes = []
            if errors(runs):
                notes.append(errors(runs))
            failed = values(runs, lambda r: r["failed"])
            if any(failed):
                notes.append(f"failed connections: {max(failed):,}")
            rows.append(
                [
                    label,
                    cell(runs, lambda r: r["rss_per_conn_kb"], 1),
                    ratio(median(values(runs, lambda r: r["rss_per_conn_kb"])), base_rss),
                    cell(runs, lambda r: r["connections_per_s"]),
                    ratio(median(values(runs, lambda r: r["connections_per_s"])), base_rate),
                    cell(runs, lambda r: r["server_cpu_pct"], 0, " %"),
                    cell(runs, lambda r: r["loadgen_cpu_pct"], 0, " %"),
                    "; ".join(notes),
                ]
            )
        out += [
            "",
            f"### K = {int(key.split('=')[1]):,} connections",
            "",
            table(
                [
                    "server",
                    "RSS per connection (KB)",
                    "× vs socketio_views",
                    "connections/s",
                    "× vs socketio_views",
                    "server CPU while connecting",
                    "generator CPU",
                    "notes",
                ],
                rows,
            ),
        ]
    return "\n".join(out)


def section_rooms(doc):
    res = doc["results"].get("rooms")
    if not res:
        return ""
    base = doc["baseline"]
    base_runs = res.get(base, {}).get("500x4", [])
    base_p99 = median(values(base_runs, lambda r: r["p99_ms"]))
    base_cpu = median(values(base_runs, lambda r: r["server_cpu_pct"]))
    rows = []
    for name, label in doc["servers"].items():
        runs = res.get(name, {}).get("500x4")
        if not runs:
            continue
        notes = []
        if errors(runs):
            notes.append(errors(runs))
        if any(r.get("received") == 0 for r in runs if not r.get("error")):
            notes.append("nothing delivered in time (overloaded)")
        elif any(r.get("missing") for r in runs):
            notes.append("deliveries missing after the drain")
        if any(r.get("duplicates") or r.get("reordered") for r in runs):
            notes.append("duplicates or reordering")
        rows.append(
            [
                label,
                cell(runs, lambda r: r["p50_ms"], 1),
                cell(runs, lambda r: r["p99_ms"], 1),
                ratio(median(values(runs, lambda r: r["p99_ms"])), base_p99),
                cell(runs, lambda r: r["missing"]) + " of " + cell(runs, lambda r: r["expected"]),
                cell(runs, lambda r: r["delivered_in_time"]),
                cell(runs, lambda r: r["server_cpu_pct"], 0, " %"),
                ratio(median(values(runs, lambda r: r["server_cpu_pct"])), base_cpu),
                cell(runs, lambda r: r["loadgen_cpu_pct"], 0, " %"),
                "; ".join(notes),
            ]
        )
    opts = doc.get("options", {})
    return "\n".join(
        [
            "## Many rooms: 500 channels × 4 clients, each client 1 message/s",
            "",
            "8,000 deliveries/s offered (every message reaches the 4 members of its room, the sender "
            f"included); latency over the messages sent during the {opts.get('rooms_measure_s', '?')} s "
            f"measurement window (after {opts.get('rooms_warmup_s', '?')} s of warm-up), missing = "
            f"deliveries of those messages not received {opts.get('drain_s', 0) + 1:g} s after the window; "
            f"in time = received under {P99_LIMIT_MS} ms.",
            "",
            table(
                [
                    "server",
                    "p50 ms",
                    "p99 ms",
                    "× p99 vs socketio_views",
                    "missing deliveries",
                    "delivered in time",
                    "server CPU",
                    "× CPU",
                    "generator CPU",
                    "notes",
                ],
                rows,
            ),
        ]
    )


def section_scaleout(doc):
    res = doc["results"].get("scaleout")
    unavailable = doc.get("unavailable", {}).get("scaleout", {})
    if res is None:
        return ""
    base = doc["baseline"]
    base2 = median(values(res.get(base, {}).get("2proc", []), lambda r: r["best"]["delivered_per_s"]))
    rows = []
    for name, label in doc["servers"].items():
        if name in unavailable:
            rows.append([label, unavailable[name], "", "", "", "", "", ""])
            continue
        per = res.get(name)
        if not per:
            continue
        one, two = per.get("1proc", []), per.get("2proc", [])
        r1 = median(values(one, lambda r: r["best"]["delivered_per_s"]))
        r2 = median(values(two, lambda r: r["best"]["delivered_per_s"]))
        notes = [e for e in (errors(one), errors(two)) if e]
        if any((r.get("best") or {}).get("loadgen_cpu_pct", 0) >= 85 for r in one + two):
            notes.append("generator near its limit")
        rows.append(
            [
                label,
                cell(one, lambda r: r["best"]["delivered_per_s"])
                + " (p99 " + cell(one, lambda r: r["best"]["p99_ms"], 1) + " ms)",
                cell(two, lambda r: r["best"]["delivered_per_s"])
                + " (p99 " + cell(two, lambda r: r["best"]["p99_ms"], 1) + " ms)",
                ratio(r2, r1),
                ratio(r2, base2),
                cell(one, lambda r: r["best"]["server_cpu_pct"], 0, " %") + " / "
                + cell(two, lambda r: r["best"]["server_cpu_pct"], 0, " %"),
                cell(one, lambda r: r["best"]["loadgen_cpu_pct"], 0, " %") + " / "
                + cell(two, lambda r: r["best"]["loadgen_cpu_pct"], 0, " %"),
                "; ".join(notes),
            ]
        )
    return "\n".join(
        [
            "## Scale-out: fan-out N = 100 through Redis",
            "",
            "The fan-out search with every broadcast going through Redis: 1 server process, then 2 "
            "processes with the subscribers spread over both (the publisher on the first). Both "
            "processes share core 0, so this measures the cost of the Redis hop, not added capacity. "
            "CPU is summed over the server processes (1 process / 2 processes).",
            "",
            table(
                [
                    "server",
                    "1 process + Redis: deliveries/s",
                    "2 processes + Redis: deliveries/s",
                    "2 ÷ 1",
                    "× vs socketio_views (2 processes)",
                    "server CPU (1 / 2)",
                    "generator CPU (1 / 2)",
                    "notes",
                ],
                rows,
            ),
        ]
    )


def section_versions(doc):
    v = doc.get("versions", {})
    main = v.get("project venv", {})
    bench = v.get("bench venv", {})
    node = v.get("node", {})
    rows = [
        ["Python", main.get("Python"), bench.get("Python")],
        ["Django", main.get("Django"), bench.get("Django")],
        ["socketio_views", main.get("socketio-views"), ""],
        ["python-socketio", main.get("python-socketio"), ""],
        ["python-engineio", main.get("python-engineio"), ""],
        ["gevent", main.get("gevent"), ""],
        ["gevent-websocket", main.get("gevent-websocket"), ""],
        ["gunicorn", main.get("gunicorn"), ""],
        ["redis (Python)", main.get("redis") or "not installed", bench.get("redis")],
        ["channels", "", bench.get("channels")],
        ["daphne", "", bench.get("daphne")],
        ["channels_redis", "", bench.get("channels_redis")],
        ["Twisted", "", bench.get("Twisted")],
        ["Node", node.get("Node"), ""],
        ["socket.io", node.get("socket.io"), ""],
        ["engine.io", node.get("engine.io"), ""],
        ["ws (server and generator)", node.get("ws"), ""],
        ["@socket.io/redis-adapter", node.get("@socket.io/redis-adapter"), ""],
        ["Redis server", v.get("redis-server"), ""],
    ]
    rows = [[a, b or "", c or ""] for a, b, c in rows]
    m = doc.get("machine", {})
    return "\n".join(
        [
            "## Versions and machine",
            "",
            table(["component", "project venv / Node", "bench venv (Channels)"], rows),
            "",
            f"Machine: {m.get('cpus')} CPUs ({m.get('cpu_model')}), Linux {m.get('kernel')}; "
            f"load average before the run {', '.join(f'{x:.2f}' for x in m.get('load_before', []))}. "
            "Servers pinned to core 0, the load generator to core 1 (taskset).",
        ]
    )


def render(doc):
    o = doc.get("options", {})
    head = [
        f"# socketio_views bench: {doc['name']}",
        "",
        f"{doc.get('started')} → {doc.get('finished')}, {doc.get('wall_s')} s; "
        f"{o.get('runs')} run(s) (median, range in brackets); steps of {o.get('step_s')} s"
        + (" (--quick)" if doc.get("quick") else "")
        + ". Ratios are against the socketio_views runserver_socketio row (×1.00); "
        "for latency, RSS and CPU lower is better, for rates higher is better. "
        "Benchmarks print ratios; they are not timed tests.",
    ]
    parts = [
        "\n".join(head),
        section_fanout(doc),
        section_idle(doc),
        section_rooms(doc),
        section_scaleout(doc),
        section_versions(doc),
    ]
    return "\n\n".join(p for p in parts if p) + "\n"


# --------------------------------------------------------------------------- plot


def plot(doc, path):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    res = doc["results"].get("fanout")
    if not res:
        return False
    keys = sorted({k for per in res.values() for k in per}, key=lambda k: int(k.split("=")[1]))
    fig, axes = plt.subplots(1, len(keys), figsize=(7.5 * len(keys), 7), squeeze=False)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, key in zip(axes[0], keys):
        for i, (name, label) in enumerate(doc["servers"].items()):
            color = colors[i % len(colors)]
            for run_no, run in enumerate(res.get(name, {}).get(key, [])):
                steps = sorted(
                    (s for s in run.get("steps", []) if s.get("p99_ms") is not None and s.get("purpose") != "warmup"),
                    key=lambda s: s["offered_deliveries_per_s"],
                )
                if not steps:
                    continue
                x = [s["offered_deliveries_per_s"] for s in steps]
                first = run_no == 0
                ax.plot(x, [s["p99_ms"] for s in steps], "-o", color=color, ms=3, lw=1.2,
                        label=f"{label} p99" if first else None)
                ax.plot(x, [s["p50_ms"] for s in steps], "--", color=color, lw=0.9, alpha=0.7,
                        label=f"{label} p50" if first else None)
                bad = [s for s in steps if not s.get("pass")]
                ax.plot([s["offered_deliveries_per_s"] for s in bad], [s["p99_ms"] for s in bad], "x",
                        color=color, ms=7)
        ax.axhline(P99_LIMIT_MS, color="grey", lw=0.8, ls=":")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("offered load (deliveries/s)")
        ax.set_ylabel("latency (ms): p99 solid, p50 dashed; × = step failed")
        ax.set_title(f"fan-out, {key.replace('N=', 'N = ')} subscribers")
        ax.grid(True, which="both", alpha=0.25)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=7, loc="lower center", ncol=2, frameon=False)
    fig.suptitle(f"socketio_views bench {doc['name']}: latency against offered load")
    fig.tight_layout(rect=(0, 0.2, 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: report.py bench/results/<name>.json", file=sys.stderr)
        return 64
    src = Path(argv[0])
    doc = json.loads(src.read_text())
    md = render(doc)
    png = src.with_name(f"{src.stem}-fanout-latency.png")
    if plot(doc, png):
        md += f"\n![fan-out latency against offered load]({png.name})\n"
    else:
        md += "\n(no plot: matplotlib is not importable or there is no fan-out result)\n"
    src.with_suffix(".md").write_text(md)
    print(md)
    print(f"wrote {src.with_suffix('.md')}" + (f" and {png}" if png.exists() else ""), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
