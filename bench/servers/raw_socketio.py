"""The bench's channel written directly on python-socketio: the floor of
socketio_views' overhead.

Same behaviour as bench/project's RoomChannel (auth {"name"}; "message" is
broadcast to the namespace as {"user", "text", ...payload} and acknowledged
with {"ok": True}), same server options as socketio_views (catch-all
namespace, async_mode gevent, async_handlers False, python-engineio's default
ping settings), served by gevent's pywsgi with gevent-websocket's handler, as
runserver_socketio does.

    python raw_socketio.py PORT [--redis redis://127.0.0.1:6379/0 --redis-channel NAME]
"""
from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import sys  # noqa: E402

import socketio  # noqa: E402
from gevent import pywsgi  # noqa: E402
from geventwebsocket.handler import WebSocketHandler  # noqa: E402

MAX_NAME = 30
MAX_TEXT = 500


def build_server(redis_url=None, redis_channel="bench-raw-socketio"):
    options = {}
    if redis_url:
        options["client_manager"] = socketio.RedisManager(redis_url, channel=redis_channel)
    sio = socketio.Server(
        namespaces="*",
        async_mode="gevent",
        async_handlers=False,
        cors_allowed_origins=lambda origin, environ: True,
        ping_interval=25,
        ping_timeout=20,
        max_http_buffer_size=100_000,
        **options,
    )
    names = {}

    @sio.on("connect", namespace="*")
    def connect(namespace, sid, environ, auth=None):
        name = str((auth or {}).get("name", "")).strip() if isinstance(auth, dict) else ""
        if not name:
            raise socketio.exceptions.ConnectionRefusedError("Pick a nickname first.")
        names[sid] = name[:MAX_NAME]

    @sio.on("message", namespace="*")
    def message(namespace, sid, data=None):
        data = data if isinstance(data, dict) else {}
        text = str(data.get("text", "")).strip()
        if not text:
            return {"error": {"message": "Type a message first.", "code": "invalid"}}
        sio.emit("message", {**data, "user": names.get(sid, ""), "text": text[:MAX_TEXT]}, namespace=namespace)
        return {"ok": True}

    @sio.on("disconnect", namespace="*")
    def disconnect(namespace, sid, *args):
        names.pop(sid, None)

    return sio


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--redis", default=None, help="share broadcasts through this Redis (socketio.RedisManager)")
    parser.add_argument("--redis-channel", default="bench-raw-socketio", help="the RedisManager's pub/sub channel")
    args = parser.parse_args(argv)
    app = socketio.WSGIApp(build_server(args.redis, args.redis_channel))
    server = pywsgi.WSGIServer((args.host, args.port), app, handler_class=WebSocketHandler)
    print(f"raw python-socketio listening on {args.host}:{args.port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        server.stop(timeout=1)


if __name__ == "__main__":
    sys.exit(main())
