#!/usr/bin/env python3
"""
The socketio_views benchmark driver: starts each server on 127.0.0.1 (pinned
to core 0, in its own process group), drives it with bench/node/loadgen.js
(pinned to core 1), stops it, and writes bench/results/<name>.json, then
renders it with bench/report.py.

Usually run through ``bash bench/run.sh [--quick]``, which prepares the
bench venv and node_modules first. Standard library only; run it with the
project's venv python (it starts the socketio_views servers with the same
interpreter unless BENCH_PYTHON says otherwise).

Benchmarks print ratios; they are not timed tests and never fail CI.
"""
import argparse
import atexit
import datetime
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
WORK = BENCH / ".work"
RESULTS = BENCH / "results"
LOGS = WORK / "logs"
PIDFILE = WORK / "pids"
PROJECT = BENCH / "project"
CHANNELS_PROJECT = BENCH / "servers" / "channels_project"
NODE_DIR = BENCH / "node"

MAIN_PY = Path(os.environ.get("BENCH_PYTHON") or (REPO / ".venv" / "bin" / "python"))
if not MAIN_PY.exists():
    MAIN_PY = Path(sys.executable)
MAIN_BIN = MAIN_PY.parent
CHANNELS_PY = BENCH / ".venv-channels" / "bin" / "python"
NODE = os.environ.get("BENCH_NODE", "node")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")

SERVER_CORE = "0"
LOADGEN_CORE = "1"

#: The rows of every table, in order; the first is the baseline (x1.00).
SERVERS = {
    "socketio_views": {
        "label": "socketio_views (runserver_socketio)",
        "protocol": "sio",
    },
    "socketio_views-gunicorn": {
        "label": "socketio_views (gunicorn + socketio_views' gevent-websocket worker)",
        "protocol": "sio",
    },
    "socketio_views-history": {
        "label": "socketio_views, channel with history = 100 (runserver_socketio)",
        "protocol": "sio",
    },
    # The baseline records Prometheus metrics when prometheus-client is in
    # the project venv (METRICS' default); this row does not.
    "socketio_views-no-metrics": {
        "label": "socketio_views, METRICS = False (runserver_socketio)",
        "protocol": "sio",
    },
    "python-socketio": {
        "label": "python-socketio, raw (gevent pywsgi)",
        "protocol": "sio",
    },
    "channels-memory": {
        "label": "Django Channels 4 + daphne, in-memory layer",
        "protocol": "json",
    },
    "channels-redis": {
        "label": "Django Channels 4 + daphne, channels_redis",
        "protocol": "json",
    },
    "node": {
        "label": "Socket.IO 4 for Node",
        "protocol": "sio",
    },
}
#: The rows run when --servers is not given (socketio_views-no-metrics only on request).
DEFAULT_SERVERS = [name for name in SERVERS if name != "socketio_views-no-metrics"]
BASELINE = "socketio_views"
WORKLOADS = ("fanout", "idle", "rooms", "scaleout", "storm")
#: What runs without --workloads (the reconnect storm only on request).
DEFAULT_WORKLOADS = ("fanout", "idle", "rooms", "scaleout")
SCALEOUT_SERVERS = ("socketio_views", "socketio_views-history", "python-socketio", "channels-redis", "node")


def log(message):
    print(message, flush=True)


# --------------------------------------------------------------------------- processes


class Processes:
    """Every process this driver started, each the leader of its own process group."""

    def __init__(self):
        self.procs = {}

    def spawn(self, cmd, *, core, cwd=None, env=None, log_path=None):
        out = open(log_path, "ab") if log_path else subprocess.DEVNULL
        proc = subprocess.Popen(
            ["taskset", "-c", core, *map(str, cmd)],
            cwd=cwd,
            env={**os.environ, **(env or {})},
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: killed as a whole
        )
        if log_path:
            out.close()
        self.procs[proc.pid] = proc
        self._write_pidfile()
        return proc

    def kill(self, proc, timeout=5):
        """Stop ``proc``'s whole process group: SIGTERM, then SIGKILL after ``timeout`` seconds."""
        if proc.pid not in self.procs:
            return
        for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5)):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                break
            end = time.monotonic() + wait
            while time.monotonic() < end and group_alive(proc):
                time.sleep(0.05)
            if not group_alive(proc):
                break
        self.procs.pop(proc.pid, None)
        self._write_pidfile()

    def kill_all(self):
        for proc in list(self.procs.values()):
            self.kill(proc, timeout=3)

    def _write_pidfile(self):
        # "pgid starttime" lines, for run.sh's trap (it checks the start time
        # so that it never signals a reused pid).
        lines = []
        for pid in self.procs:
            start = proc_starttime(pid)
            if start is not None:
                lines.append(f"{pid} {start}\n")
        WORK.mkdir(parents=True, exist_ok=True)
        PIDFILE.write_text("".join(lines))


def proc_starttime(pid):
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat[stat.rindex(")") + 2 :].split()[19]


def group_alive(proc):
    """Whether any process of ``proc``'s group is left (reaping the leader if it exited)."""
    proc.poll()
    try:
        os.killpg(proc.pid, 0)
    except ProcessLookupError:
        return False
    return True


def children_of(pid):
    kids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat[stat.rindex(")") + 2 :].split()[1]) == pid:
            kids.append(int(entry.name))
    return kids


PROCS = Processes()


def _on_signal(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def install_cleanup():
    atexit.register(PROCS.kill_all)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _on_signal)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, timeout=60):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        except OSError:
            time.sleep(0.1)
    return False


# --------------------------------------------------------------------------- servers


class Server:
    """One running server: its process(es), URL(s) and the pids to measure."""

    def __init__(self, name, procs, ports, pids):
        self.name = name
        self.procs = procs
        self.ports = ports
        self.pids = pids

    @property
    def targets(self):
        return [f"ws://127.0.0.1:{port}" for port in self.ports]

    def alive(self):
        return all(p.poll() is None for p in self.procs)

    def stop(self):
        for proc in self.procs:
            PROCS.kill(proc)


_gunicorn_help = None


def gunicorn_extra_options():
    """gunicorn 25+ opens a control socket under ~/.gunicorn: keep the bench from writing there."""
    global _gunicorn_help
    if _gunicorn_help is None:
        try:
            _gunicorn_help = subprocess.run(
                [MAIN_BIN / "gunicorn", "--help"], capture_output=True, text=True, timeout=60
            ).stdout
        except (OSError, subprocess.TimeoutExpired):
            _gunicorn_help = ""
    return ["--no-control-socket"] if "--no-control-socket" in _gunicorn_help else []


def server_command(name, port, redis=None, redis_prefix=None):
    """(cmd, cwd, env) of server ``name`` on ``port``; ``redis`` for the scale-out workload."""
    env = {"BENCH_WORK_DIR": str(WORK), "PYTHONUNBUFFERED": "1"}
    if name in ("socketio_views", "socketio_views-history", "socketio_views-no-metrics"):
        cmd = [MAIN_PY, "manage.py", "runserver_socketio", "--noreload", f"127.0.0.1:{port}"]
        cwd = PROJECT
        if name == "socketio_views-history":
            # Every broadcast kept (in memory, or in Redis with a backend) and numbered.
            env["BENCH_HISTORY"] = "100"
        if name == "socketio_views-no-metrics":
            env["BENCH_METRICS"] = "off"
    elif name == "socketio_views-gunicorn":
        cmd = [
            MAIN_BIN / "gunicorn",
            # The worker class docs/deployment.rst recommends (the drain, and the lean Engine.IO path).
            "--worker-class", "socketio_views.workers.GeventWebSocketWorker",
            "--workers", "1",
            # gunicorn's gevent workers hold at most --worker-connections
            # sockets (default 1,000): lift it for the 10,000-connection run.
            "--worker-connections", "20000",
            "--timeout", "300",
            # The worker tuning docs/deployment.rst recommends (post_worker_init).
            "--config", "python:socketio_views.tuning",
            "--bind", f"127.0.0.1:{port}",
            *gunicorn_extra_options(),
            "benchproject.wsgi",
        ]
        cwd = PROJECT
    elif name == "python-socketio":
        cmd = [MAIN_PY, BENCH / "servers" / "raw_socketio.py", str(port)]
        if redis:
            cmd += ["--redis", redis, "--redis-channel", redis_prefix or "bench-raw-socketio"]
        cwd = BENCH
    elif name in ("channels-memory", "channels-redis"):
        cmd = [CHANNELS_PY, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "benchchannels.asgi:application"]
        cwd = CHANNELS_PROJECT
        env["BENCH_CHANNEL_LAYER"] = "redis" if name == "channels-redis" else "memory"
        env["BENCH_REDIS_URL"] = redis or REDIS_URL
        env["BENCH_REDIS_PREFIX"] = redis_prefix or f"bench-channels-{uuid.uuid4().hex[:8]}"
    elif name == "node":
        cmd = [NODE, NODE_DIR / "server.js", str(port)]
        if redis:
            cmd += ["--redis", redis, "--redis-key", redis_prefix or "bench-socket.io"]
        cwd = NODE_DIR
    else:
        raise ValueError(name)
    if name.startswith("socketio_views") and redis:
        env["BENCH_SOCKETIO_VIEWS_BACKEND"] = redis
        env["BENCH_SOCKETIO_VIEWS_CHANNEL"] = redis_prefix or "bench-socketio_views"
    return cmd, cwd, env


def start_server(name, tag, processes=1, redis=None):
    """Start ``processes`` processes of server ``name`` (sharing ``redis`` if given)."""
    prefix = f"bench-{uuid.uuid4().hex[:10]}"
    procs, ports, pids = [], [], []
    for i in range(processes):
        port = free_port()
        cmd, cwd, env = server_command(name, port, redis=redis, redis_prefix=prefix)
        proc = PROCS.spawn(cmd, core=SERVER_CORE, cwd=cwd, env=env, log_path=LOGS / f"{tag}-{i}.log")
        procs.append(proc)
        ports.append(port)
    server = Server(name, procs, ports, pids)
    server.redis_prefix = prefix
    for proc, port in zip(procs, ports):
        if not wait_port(port, proc):
            server.stop()
            raise RuntimeError(f"{name} did not start; see {LOGS / tag}-*.log")
        pid = proc.pid
        if name == "socketio_views-gunicorn":
            # Measure the worker, not the arbiter.
            end = time.monotonic() + 30
            kids = []
            while not kids and time.monotonic() < end:
                kids = children_of(proc.pid)
                time.sleep(0.1)
            if not kids:
                server.stop()
                raise RuntimeError("gunicorn started no worker")
            pid = kids[0]
        pids.append(pid)
    time.sleep(0.3)
    if not server.alive():
        server.stop()
        raise RuntimeError(f"{name} exited at start; see {LOGS / tag}-*.log")
    return server


def cleanup_redis(prefix):
    """Delete the keys a scale-out server left under ``prefix`` (channels_redis groups)."""
    if not prefix or not CHANNELS_PY.exists():
        return
    code = (
        "import redis,sys; r=redis.Redis.from_url(sys.argv[1]);"
        "keys=list(r.scan_iter(sys.argv[2]+'*', count=1000));"
        "keys and r.delete(*keys)"
    )
    subprocess.run([CHANNELS_PY, "-c", code, REDIS_URL, prefix], timeout=30, check=False,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


# --------------------------------------------------------------------------- load generator


def run_loadgen(config, tag):
    cfg_path = WORK / f"loadgen-{tag}.config.json"
    out_path = WORK / f"loadgen-{tag}.json"
    cfg_path.write_text(json.dumps(config))
    out_path.unlink(missing_ok=True)
    proc = PROCS.spawn(
        [NODE, NODE_DIR / "loadgen.js", cfg_path, out_path],
        core=LOADGEN_CORE,
        cwd=NODE_DIR,
        log_path=LOGS / f"loadgen-{tag}.log",
    )
    try:
        proc.wait(config["deadline_s"] + 120)
    except subprocess.TimeoutExpired:
        log(f"  loadgen {tag} overran its deadline; killed")
    finally:
        PROCS.kill(proc)
    try:
        return json.loads(out_path.read_text())
    except (OSError, ValueError):
        return {"error": f"loadgen wrote no result; see {LOGS / f'loadgen-{tag}.log'}"}


# --------------------------------------------------------------------------- availability


def python_probe(python, code):
    try:
        out = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=60, cwd=BENCH)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, str(exc)
    if out.returncode:
        return None, (out.stderr.strip().splitlines() or ["failed"])[-1]
    return out.stdout.strip(), None


def scaleout_availability():
    """Why each server cannot run the scale-out workload (absent when it can)."""
    reasons = {}
    has_backend, err = python_probe(MAIN_PY, "from socketio_views.conf import DEFAULTS; print('BACKEND' in DEFAULTS)")
    has_redis, _ = python_probe(MAIN_PY, "import redis; print(True)")
    if has_backend != "True":
        reasons["socketio_views"] = "not available: socketio_views has no SOCKETIO_VIEWS['BACKEND'] setting"
    elif has_redis != "True":
        reasons["socketio_views"] = "not available: the redis package is not installed in the project venv"
    if has_redis != "True":
        reasons["python-socketio"] = "not available: the redis package is not installed in the project venv"
    if "socketio_views" in reasons:
        reasons["socketio_views-history"] = reasons["socketio_views"]
    reasons["socketio_views-no-metrics"] = "not run (compare it with the baseline in the fan-out workload)"
    reasons["socketio_views-gunicorn"] = "not run (the runserver row measures the same backend)"
    reasons["channels-memory"] = "n/a: the in-memory layer does not cross processes"
    return reasons


def versions():
    main_code = (
        "import json, platform\n"
        "from importlib.metadata import version\n"
        "v = {'Python': platform.python_version()}\n"
        "for d in ('socketio-views', 'Django', 'python-socketio', 'python-engineio', 'gevent', 'gevent-websocket', 'gunicorn', 'redis', 'prometheus-client'):\n"
        "    try: v[d] = version(d)\n"
        "    except Exception: v[d] = None\n"
        "print(json.dumps(v))\n"
    )
    out, err = python_probe(MAIN_PY, main_code)
    result = {"project venv": json.loads(out) if out else {"error": err}}
    ch_code = main_code.replace(
        "('socketio-views', 'Django', 'python-socketio', 'python-engineio', 'gevent', 'gevent-websocket', 'gunicorn', 'redis', 'prometheus-client')",
        "('Django', 'channels', 'daphne', 'channels_redis', 'redis', 'Twisted', 'matplotlib')",
    )
    out, err = python_probe(CHANNELS_PY, ch_code) if CHANNELS_PY.exists() else (None, "no bench venv")
    result["bench venv"] = json.loads(out) if out else {"error": err}
    node = {}
    try:
        node["Node"] = subprocess.run([NODE, "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
        for pkg in ("socket.io", "engine.io", "ws", "@socket.io/redis-adapter", "redis"):
            pj = NODE_DIR / "node_modules" / pkg / "package.json"
            node[pkg] = json.loads(pj.read_text())["version"] if pj.exists() else None
    except (OSError, subprocess.TimeoutExpired) as exc:
        node["error"] = str(exc)
    result["node"] = node
    redis_version, _ = python_probe(
        CHANNELS_PY, f"import redis; print(redis.Redis.from_url({REDIS_URL!r}).info('server')['redis_version'])"
    ) if CHANNELS_PY.exists() else (None, None)
    result["redis-server"] = redis_version
    return result


def machine():
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "kernel": platform.release(),
        "load_before": os.getloadavg(),
        "nofile": __import__("resource").getrlimit(__import__("resource").RLIMIT_NOFILE),
    }


# --------------------------------------------------------------------------- workloads


def base_config(server, opts, deadline):
    return {
        "protocol": SERVERS[server.name]["protocol"],
        "targets": server.targets,
        "server_pids": server.pids,
        "room": "bench",
        "concurrency": 100,
        "connect_timeout_s": 30,
        "p99_limit_ms": 100,
        "deadline_s": deadline,
    }


def fanout_config(server, opts, n):
    cfg = base_config(server, opts, opts.fanout_deadline)
    cfg.update(
        workload="fanout",
        n=n,
        step_s=opts.step_s,
        min_publishes=5,
        max_step_s=max(5.0, opts.step_s),
        drain_s=opts.drain_s,
        quiet_s=opts.quiet_s,
        bisect=opts.bisect,
        start_deliveries=max(opts.start_deliveries, 2 * n),
        min_deliveries=100,
        max_down_steps=3,
        max_deliveries=2_048_000,
        fixed_deliveries=50_000,
        moderate_deliveries=20_000,
        rerun_latency_failures=True,
    )
    return cfg


def summary_fanout(r):
    best = r.get("best") or {}
    fixed = r.get("fixed") or {}
    if r.get("error"):
        return f"ERROR {r['error']}"
    return (
        f"best {best.get('delivered_per_s')}/s (p50 {best.get('p50_ms')} p99 {best.get('p99_ms')} ms, "
        f"cpu {best.get('server_cpu_pct')}%, gen {best.get('loadgen_cpu_pct')}%); "
        + (f"@50k cpu {fixed.get('server_cpu_pct')}%; " if fixed else "")
        + (f"@20k cpu {(r.get('moderate') or {}).get('server_cpu_pct')}%; " if r.get("moderate") else "")
        + f"{len(r.get('steps', []))} steps"
    )


def run_job(name, tag, config_fn, processes=1, redis=None, profile=None):
    """Start a fresh server, run one loadgen job against it, stop it.

    With ``profile`` (a results name), py-spy samples each Python server
    process for the whole job and writes a flame graph,
    ``results/<profile>-<tag>.svg``.
    """
    started = time.monotonic()
    try:
        server = start_server(name, tag, processes=processes, redis=redis)
    except RuntimeError as exc:
        return {"error": str(exc)}
    profilers = [start_profiler(pid, f"{profile}-{tag}") for pid in server.pids] if profile and name != "node" else []
    try:
        result = run_loadgen(config_fn(server), tag)
        result["server_exited"] = not server.alive()
    finally:
        server.stop()
        for profiler in profilers:
            stop_profiler(profiler)
        if redis or name == "channels-redis":
            cleanup_redis(server.redis_prefix)
    result["job_wall_s"] = round(time.monotonic() - started, 2)
    return result


def start_profiler(pid, name):
    """Start py-spy sampling ``pid`` (on the load generator's core) into ``results/<name>.svg``."""
    py_spy = MAIN_BIN / "py-spy"
    if not py_spy.exists():
        raise SystemExit(f"bench: --profile needs py-spy in the project venv ({MAIN_BIN / 'pip'} install py-spy)")
    out = RESULTS / f"{name}.svg"
    return PROCS.spawn(
        [py_spy, "record", "--pid", pid, "--rate", "250", "--format", "flamegraph", "--output", out],
        core=LOADGEN_CORE,
        log_path=LOGS / f"{name}-py-spy.log",
    )


def stop_profiler(profiler):
    """Let py-spy write its flame graph once its process is gone (it does so by itself), then reap it."""
    try:
        profiler.wait(60)
    except subprocess.TimeoutExpired:
        log("  py-spy did not finish within 60 s; killed")
    PROCS.kill(profiler)


def run_all(opts):
    results = {w: {} for w in opts.workloads}
    unavailable = {"scaleout": scaleout_availability()} if "scaleout" in opts.workloads else {}
    for run in range(1, opts.runs + 1):
        log(f"=== run {run}/{opts.runs}")
        if "fanout" in opts.workloads:
            for n in opts.ns:
                for name in opts.servers:
                    tag = f"fanout-{name}-{n}-{run}"
                    r = run_job(name, tag, lambda s, n=n: fanout_config(s, opts, n), profile=opts.profile)
                    results["fanout"].setdefault(name, {}).setdefault(f"N={n}", []).append(r)
                    log(f"fanout N={n:<5} {name:<24} {summary_fanout(r)}  [{r.get('job_wall_s')}s]")
        if "idle" in opts.workloads:
            for k in opts.ks:
                for name in opts.servers:
                    tag = f"idle-{name}-{k}-{run}"

                    def cfg(s, k=k):
                        c = base_config(s, opts, 60 + k // 20)
                        c.update(workload="idle", k=k, settle_s=opts.settle_s, warmup_clients=20)
                        return c

                    r = run_job(name, tag, cfg)
                    results["idle"].setdefault(name, {}).setdefault(f"K={k}", []).append(r)
                    log(
                        f"idle K={k:<6} {name:<24} "
                        + (f"ERROR {r['error']}" if r.get("error") else
                           f"{r.get('rss_per_conn_kb')} KB/conn, {r.get('connections_per_s')} conn/s, "
                           f"failed {r.get('failed')}")
                        + f"  [{r.get('job_wall_s')}s]"
                    )
        if "storm" in opts.workloads:
            for name in opts.servers:
                tag = f"storm-{name}-{opts.storm_k}-{run}"

                def cfg(s):
                    c = base_config(s, opts, 120 + opts.storm_k // 10)
                    c.update(workload="storm", k=opts.storm_k, settle_s=opts.settle_s, warmup_clients=20,
                             connect_timeout_s=max(c.get("connect_timeout_s", 10), 60))
                    return c

                r = run_job(name, tag, cfg)
                results["storm"].setdefault(name, {}).setdefault(f"K={opts.storm_k}", []).append(r)
                log(
                    f"storm K={opts.storm_k:<5} {name:<24} "
                    + (f"ERROR {r['error']}" if r.get("error") else
                       f"{r.get('reconnected')} back in {r.get('storm_s')} s ({r.get('storm_per_s')}/s), "
                       f"failed {r.get('failed')}")
                    + f"  [{r.get('job_wall_s')}s]"
                )
        if "rooms" in opts.workloads:
            for name in opts.servers:
                tag = f"rooms-{name}-{run}"

                def cfg(s):
                    c = base_config(s, opts, 120)
                    c.update(workload="rooms", rooms=500, per_room=4, rate_per_client=1,
                             warmup_s=opts.rooms_warmup_s, measure_s=opts.rooms_measure_s, drain_s=opts.drain_s + 1)
                    return c

                r = run_job(name, tag, cfg)
                results["rooms"].setdefault(name, {}).setdefault("500x4", []).append(r)
                log(
                    f"rooms 500x4  {name:<24} "
                    + (f"ERROR {r['error']}" if r.get("error") else
                       f"p50 {r.get('p50_ms')} p99 {r.get('p99_ms')} ms, missing {r.get('missing')}, "
                       f"cpu {r.get('server_cpu_pct')}%")
                    + f"  [{r.get('job_wall_s')}s]"
                )
        if "scaleout" in opts.workloads:
            for name in opts.servers:
                if name not in SCALEOUT_SERVERS or name in unavailable["scaleout"]:
                    continue
                for processes in (1, 2):
                    key = f"{processes}proc"
                    tag = f"scaleout-{name}-{key}-{run}"
                    r = run_job(
                        name, tag, lambda s: {**fanout_config(s, opts, 100), "fixed_deliveries": 0, "moderate_deliveries": 0},
                        processes=processes, redis=REDIS_URL,
                    )
                    results["scaleout"].setdefault(name, {}).setdefault(key, []).append(r)
                    log(f"scaleout {key} {name:<24} {summary_fanout(r)}  [{r.get('job_wall_s')}s]")
    print_ratios(results, opts)
    return results, unavailable


def print_ratios(results, opts, reference="python-socketio"):
    """Print the idle and storm rows of every server as medians and as ratios to raw python-socketio."""
    rows = []
    for k, runs_of in sorted(((k, results.get("idle", {})) for k in opts.ks if "idle" in opts.workloads)):
        for name, by_k in runs_of.items():
            runs = [r for r in by_k.get(f"K={k}", []) if not r.get("error")]
            rows.append((f"conns/s K={k}", name, [r.get("connections_per_s") for r in runs], True))
            rows.append((f"KB/conn K={k}", name, [r.get("rss_per_conn_kb") for r in runs], False))
    if "storm" in opts.workloads:
        for name, by_k in results.get("storm", {}).items():
            runs = [r for r in by_k.get(f"K={opts.storm_k}", []) if not r.get("error")]
            rows.append((f"storm K={opts.storm_k} s", name, [r.get("storm_s") for r in runs], False))
    if not rows:
        return
    medians = {}
    for row, name, values, _ in rows:
        values = sorted(v for v in values if v is not None)
        medians[(row, name)] = values[len(values) // 2] if values else None
    log(f"--- medians, and ratios to {reference} (x > 1: better than raw for conns/s, worse for KB/conn and storm s)")
    for row, name, values, _ in rows:
        median = medians[(row, name)]
        ref = medians.get((row, reference))
        ratio = f"x{median / ref:.2f}" if median is not None and ref else "-"
        log(f"{row:<20} {name:<24} median {median!s:>10}  runs {values}  {ratio}")


# --------------------------------------------------------------------------- main


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--servers", help=f"comma-separated, among {','.join(SERVERS)} (default: all but socketio_views-no-metrics)")
    p.add_argument("--workloads", help=f"comma-separated, among {','.join(WORKLOADS)} (default: all but storm)")
    p.add_argument("--ns", help="fan-out subscriber counts (default 100,1000; --quick 100)")
    p.add_argument("--ks", help="idle connection counts (default 1000,5000,10000; --quick 1000)")
    p.add_argument("--storm-k", type=int, default=5000, help="clients of the reconnect storm (workload storm; default 5000)")
    p.add_argument("--runs", type=int, help="runs of everything (default 3; --quick 1)")
    p.add_argument("--step-s", type=float, help="seconds per offered-rate step (default 2; --quick 0.5)")
    p.add_argument("--name", help="results name: bench/results/<name>.{md,json} (default full / quick)")
    p.add_argument("--quick", action="store_true", help="1 run, N=100, K=1,000, short steps (under 5 minutes)")
    p.add_argument("--no-report", action="store_true", help="write the JSON only")
    p.add_argument("--profile", action="store_true",
                   help="fan-out jobs only: py-spy flame graph of each Python server, results/<name>-<job>.svg")
    opts = p.parse_args(argv)

    def csv(value, default, cast=str):
        return [cast(x) for x in value.split(",") if x.strip()] if value else default

    q = opts.quick
    opts.servers = csv(opts.servers, list(DEFAULT_SERVERS))
    opts.workloads = csv(opts.workloads, list(DEFAULT_WORKLOADS))
    for s in opts.servers:
        if s not in SERVERS:
            p.error(f"unknown server {s!r}")
    for w in opts.workloads:
        if w not in WORKLOADS:
            p.error(f"unknown workload {w!r}")
    opts.ns = csv(opts.ns, [100] if q else [100, 1000], int)
    opts.ks = csv(opts.ks, [1000] if q else [1000, 5000, 10000], int)
    opts.runs = opts.runs or (1 if q else 3)
    opts.step_s = opts.step_s or (0.5 if q else 2.0)
    opts.name = opts.name or ("quick" if q else "full")
    opts.profile = opts.name if opts.profile else None
    opts.drain_s = 1.0 if q else 2.0
    opts.quiet_s = 2.0 if q else 5.0
    opts.bisect = 2 if q else 3
    opts.start_deliveries = 2000 if q else 1000
    opts.fanout_deadline = 100 if q else 300
    opts.settle_s = 1.0 if q else 2.0
    opts.rooms_warmup_s = 1.0 if q else 2.0
    opts.rooms_measure_s = 2.0 if q else 10.0
    return opts


def prepare():
    WORK.mkdir(parents=True, exist_ok=True)
    LOGS.mkdir(parents=True, exist_ok=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    # The bench project's SQLite database (sessions, auth tables).
    subprocess.run(
        [MAIN_PY, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=PROJECT,
        env={**os.environ, "BENCH_WORK_DIR": str(WORK)},
        check=True,
        timeout=300,
    )


def main(argv=None):
    opts = parse_args(argv)
    install_cleanup()
    started = time.time()
    prepare()
    for old in LOGS.glob("*.log"):
        old.unlink()
    log(f"bench {opts.name}: servers {','.join(opts.servers)}; workloads {','.join(opts.workloads)}; "
        f"N {opts.ns}; K {opts.ks}; runs {opts.runs}; step {opts.step_s}s")
    doc = {
        "name": opts.name,
        "quick": opts.quick,
        "started": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "options": {k: v for k, v in vars(opts).items()},
        "servers": {k: v["label"] for k, v in SERVERS.items() if k in opts.servers},
        "baseline": BASELINE,
        "versions": versions(),
        "machine": machine(),
    }
    try:
        results, unavailable = run_all(opts)
    except KeyboardInterrupt:
        log("interrupted: stopping every server")
        PROCS.kill_all()
        return 130
    finally:
        PROCS.kill_all()
    doc["results"] = results
    doc["unavailable"] = unavailable
    doc["wall_s"] = round(time.time() - started, 1)
    doc["finished"] = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
    out = RESULTS / f"{opts.name}.json"
    out.write_text(json.dumps(doc, indent=1))
    log(f"wrote {out.relative_to(REPO)} ({doc['wall_s']} s)")
    if not opts.no_report:
        python = CHANNELS_PY if CHANNELS_PY.exists() else Path(sys.executable)
        subprocess.run([python, BENCH / "report.py", out], check=False, timeout=300)
    return 0


if __name__ == "__main__":
    sys.exit(main())
