"""The ``:bench:`` role: a figure of a bench result, read from bench/results/<name>.json at build time.

Example usage, in a page::

    about :bench:`lean idle socketio_views K=10000 rss_per_conn_kb` KB per
    idle connection, :bench:`lean idle socketio_views K=10000 connections_per_s range`
    new connections a second

The words are the result's name (``bench/results/lean.json``), the workload,
the server (or two, ``a/b``, for the ratio of their medians: ``×0.62``), the
workload's key (``K=10000``, ``N=100``) and the field of each run
(``us_per_delivery``: the server's CPU per delivery at 20,000 a second, as the
tables compute it); the figure is the median over the runs, formatted as bench/report.py
formats it in ``bench/results/<name>.md``, and ``range`` adds the runs' range
in brackets. Two figures joined by `` - `` show their difference, with the
first one's digits (``tuned idle socketio_views K=10000 rss_per_conn_kb -
raw-no-greenlet-tree idle python-socketio K=10000 rss_per_conn_kb``: what one
server holds more than another, measured in two results). A figure the result does not hold (a missing file, workload,
server, key or field) is a warning, so an error in ``make docs`` (``-W``):
the prose cannot say what no bench measured, and a figure that a new bench
run changes changes in the prose with it.
"""
import importlib.util
import json
from pathlib import Path

from docutils import nodes

RESULTS = Path(__file__).resolve().parent.parent / "bench" / "results"

# The bench's own formatting, so a page and bench/results/<name>.md agree to the digit.
_spec = importlib.util.spec_from_file_location("bench_report", RESULTS.parent / "report.py")
report = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(report)

#: Digits after the point of each field, as report.py prints it; a field not
#: listed here is refused, so that a figure is never shown with a made-up precision.
DIGITS = {
    "rss_per_conn_kb": 1,
    "connections_per_s": 0,
    "server_cpu_pct": 0,
    "storm_s": 1,
    "idle_busy_pct": 1,
    "delivered_per_s": 0,
    "cpu_us_per_delivery": 0,
    "p50_ms": 1,
    "p99_ms": 1,
    "max_ms": 0,
    "late_or_lost": 0,
    "acks_missing": 0,
    "keep_p50_ms": 2,
    "keep_p95_ms": 2,
    "replay_p50_ms": 2,
    "last50_p50_ms": 2,
    "bytes_per_entry": 0,
    "all_joined_after_s": 1,
    # bench/hub.py's loads.
    "rounds": 0,
    "joined": 0,
    "refusals": 0,
    "subscribed": 0,
    "refused": 0,
    "timed_out": 0,
    "all_timed_out_after_s": 1,
    "bytes_per_session": 0,
    "channel_kb": 0,
    "entries_kept": 0,
    # bench/soak.py's results section.
    "rss_middle_mb": 1,
    "rss_end_mb": 1,
    "greenlets_start": 0,
    "greenlets_middle": 0,
    "greenlets_end": 0,
    "greenlets_settled_after_s": 0,
    "deliveries_expected": 0,
    "drops": 0,
    "recovery_p99_ms": 0,
    "slow_consumers": 0,
    "slow_full_for_max_s": 2,
    "refused_packets": 0,
    # bench/slow_consumer.py's.
    "rss_after_mb": 1,
}

#: Figures computed from a run as bench/report.py computes them: field -> (function, digits).
DERIVED = {
    "us_per_delivery": (report.us_per_delivery, 1),
}


class BenchFigureError(ValueError):
    """A ``:bench:`` role names a figure that bench/results does not hold."""


def figure(text, results=RESULTS):
    """The figure that the role's ``text`` names, as the page shows it.

    :param text: ``"<result> <workload> <server> <key> <field>"``, then
        optionally ``"range"``; or two of them (without ``range``) joined by
        ``" - "``, for their difference.
    :param results: the folder of the result files.
    """
    if " - " in text:
        # The difference of two medians, shown with the first one's digits.
        (first, digits), (second, _) = (_figure(one, results, median=True) for one in text.split(" - ", 1))
        return report.fmt_num(first - second, digits)
    return _figure(text, results)


def _figure(text, results, median=False):
    """The figure ``text`` names as the page shows it, or with ``median``, ``(median, digits)``."""
    words = text.split()
    with_range = words[-1:] == ["range"]
    if with_range:
        words = words[:-1]
    if len(words) != 5:
        raise BenchFigureError(f"expected '<result> <workload> <server> <key> <field> [range]' (got {text!r})")
    name, workload, server, key, field = words
    # A field of a run, or of a dict of it ("best.delivered_per_s": the saturation step's).
    *within, last = field.split(".")
    if last not in DIGITS and last not in DERIVED:
        raise BenchFigureError(f"field {last!r} must be one of {sorted(DIGITS) + sorted(DERIVED)} (got {text!r})")
    path = results / f"{name}.json"
    if not path.exists():
        raise BenchFigureError(f"no bench result {path.relative_to(results.parent.parent)} (got {text!r})")
    result = json.loads(path.read_text()).get("results", {}).get(workload, {})

    def getter(run):
        for part in within:
            run = run[part]
        return DERIVED[last][0](run) if last in DERIVED else run[last]

    digits = DERIVED[last][1] if last in DERIVED else DIGITS[last]
    if "/" in server:
        # "a/b": the ratio of a's median to b's, as the bench's tables show ratios.
        if with_range or median:
            raise BenchFigureError(f"a ratio has no range and is not subtracted (got {text!r})")
        medians = [report.median(_found(result, name, workload, one, key, field, getter)) for one in server.split("/", 1)]
        return f"×{medians[0] / medians[1]:.2f}"
    runs = result.get(server, {}).get(key)
    found = _found(result, name, workload, server, key, field, getter)
    if median:
        if with_range:
            raise BenchFigureError(f"a difference has no range (got {text!r})")
        return report.median(found), digits
    if with_range:
        return report.cell(runs, getter, digits)
    return report.fmt_num(report.median(found), digits)


def _found(result, name, workload, server, key, field, getter):
    runs = result.get(server, {}).get(key)
    if not runs:
        raise BenchFigureError(f"{name}.json has no runs of {workload} {server} {key}")
    found = report.values(runs, getter)
    if not found:
        raise BenchFigureError(f"{name}.json's runs of {workload} {server} {key} have no {field!r}")
    return found


def bench_role(name, rawtext, text, lineno, inliner, options=None, content=None):
    try:
        return [nodes.Text(figure(text))], []
    except BenchFigureError as error:
        message = inliner.reporter.error(f"bench figure: {error}", line=lineno)
        return [inliner.problematic(rawtext, rawtext, message)], [message]


def setup(app):
    app.add_role("bench", bench_role)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
