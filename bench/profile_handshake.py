"""Where an Engine.IO handshake's time goes, on the lean path and through Django's full stack.

    python bench/profile_handshake.py [--count 2000] [--top 15]

Calls the bench project's WSGI application (wrapped as runserver_socketio
wraps it) in this process, without a network: ``--count`` long-polling
handshakes (GET ``/socket.io/?EIO=4&transport=polling``), then as many
polling GETs of one established connection, once with the default
``HANDSHAKE_MIDDLEWARE`` and once with ``None`` (the full stack). Prints the
microseconds per request and cProfile's top functions by cumulative time.
Not a test; figures only mean something on a quiet machine.
"""
import argparse
import cProfile
import io
import os
import pstats
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH.parent), str(BENCH / "project")]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchproject.settings")
os.environ.setdefault("BENCH_WORK_DIR", str(BENCH / ".work"))
os.environ.setdefault("BENCH_SOCKETIO_VIEWS", '{"MAX_CONNECTIONS_PER_IP": null, "HANDSHAKE_RATE": null}')


def environ(query):
    return {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/socket.io/",
        "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "HTTP_HOST": "127.0.0.1:8000",
        "REMOTE_ADDR": "127.0.0.1",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
    }


def handshake(app):
    status = {}
    body = app(environ("EIO=4&transport=polling"), lambda s, h, e=None: status.setdefault("s", s))
    data = b"".join(body)
    if hasattr(body, "close"):
        body.close()
    assert status["s"].startswith("200"), (status, data[:200])
    return data


def run(app, count, top, label):
    import json

    sids = []
    started = time.perf_counter()
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(count):
        sids.append(json.loads(handshake(app)[1:])["sid"])
    profile.disable()
    per_handshake = (time.perf_counter() - started) / count * 1e6
    # Polling GETs of established connections (each answered at once: the
    # Socket.IO CONNECT is not sent, so a GET finds the queued NOOP... use
    # a POST of a ping-free payload instead: "6" (noop) answered "ok").
    started = time.perf_counter()
    for sid in sids:
        env = environ(f"EIO=4&transport=polling&sid={sid}")
        env.update(REQUEST_METHOD="POST", CONTENT_LENGTH="1", CONTENT_TYPE="text/plain", **{"wsgi.input": io.BytesIO(b"6")})
        body = app(env, lambda s, h, e=None: None)
        b"".join(body)
        if hasattr(body, "close"):
            body.close()
    per_post = (time.perf_counter() - started) / count * 1e6
    print(f"== {label}: {per_handshake:.0f} us per handshake, {per_post:.0f} us per POST of an established connection")
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(top)
    print("\n".join(line for line in out.getvalue().splitlines() if line.strip())[-(top + 2) * 200 :])
    return sids


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--top", type=int, default=15)
    opts = parser.parse_args(argv)
    from gevent import monkey

    monkey.patch_all()
    import django

    django.setup()
    from django.core.wsgi import get_wsgi_application
    from django.test.utils import override_settings

    from socketio_views.conf import views_settings
    from socketio_views.transport.server import get_server
    from socketio_views.wsgi import SocketIOApplication

    app = SocketIOApplication(get_wsgi_application())
    base = dict(getattr(django.conf.settings, "SOCKETIO_VIEWS", {}))
    for label, middleware in (("lean (HANDSHAKE_MIDDLEWARE default)", "default"), ("full stack (HANDSHAKE_MIDDLEWARE None)", None)):
        value = base if middleware == "default" else {**base, "HANDSHAKE_MIDDLEWARE": None}
        with override_settings(SOCKETIO_VIEWS=value):
            views_settings.reload()
            sids = run(app, opts.count, opts.top, label)
            for sid in sids:
                get_server().eio.disconnect(sid)
    return 0


if __name__ == "__main__":
    sys.exit(main())
