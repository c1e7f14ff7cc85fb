"""A thin recorder around the real python-socketio client, for end-to-end tests."""
import json
import time

import requests
import socketio
from django.conf import settings
from django.http import parse_cookie

from socketio_views.history import parse_offset
import websocket

from .waiting import wait_until


class WireClient:
    """One real Socket.IO connection that records every event it receives."""

    def __init__(self, url, transport="websocket"):
        self.url = url
        self.transport = transport
        # Our own HTTP session, closed by close(): python-engineio's client
        # drops (without closing) the one it makes, leaving a polling socket
        # for the garbage collector to warn about during some later test.
        self.http = requests.Session()
        self.sio = socketio.Client(reconnection=False, http_session=self.http)
        self.events = []
        #: (channel, event, offset) of every event that carried a history offset.
        self.offsets = []
        self.connect_errors = {}
        self.disconnects = []
        #: event -> function of the payload whose result acknowledges the server's event
        self.answers = {}
        self.sio.on("*", self._on_event, namespace="*")
        self.sio.on("connect_error", self._on_connect_error, namespace="*")
        self.sio.on("disconnect", self._on_disconnect, namespace="*")

    def _on_event(self, event, namespace, *args):
        if len(args) == 2 and parse_offset(args[1]) is not None:
            # A broadcast on a channel with history: its offset comes last.
            args, offset = args[:1], args[1]
            self.offsets.append((namespace[1:], event, offset))
        data = args[0] if len(args) == 1 else list(args)
        self.events.append((namespace[1:], event, data))
        if event in self.answers:
            return self.answers[event](data)

    def _on_connect_error(self, namespace, data):
        self.connect_errors[namespace[1:]] = data

    def _on_disconnect(self, namespace, *args):
        self.disconnects.append(namespace[1:])

    def _headers(self, headers):
        headers = dict(headers or {})
        cookie = headers.pop("Cookie", None)
        if cookie:
            # python-engineio's client sends headers with the handshake only, and
            # the server wants the session cookie on every request of a polling
            # session: cookies go in the jar, which it sends every time (and with a
            # WebSocket upgrade).
            for name, value in parse_cookie(cookie).items():
                self.http.cookies.set(name, value)
        if "Origin" in headers:
            # websocket-client sends an Origin of its own unless told which one.
            self.sio.eio.websocket_extra_options = {"origin": headers["Origin"]}
            if self.transport == "websocket":
                del headers["Origin"]
        return headers

    def connect(self, *channels, auth=None, headers=None, wait_timeout=5):
        self.sio.connect(
            self.url,
            namespaces=["/" + c for c in channels],
            transports=[self.transport],
            auth=auth,
            headers=self._headers(headers),
            wait_timeout=wait_timeout,
        )
        return self

    def refused(self, channel, *others, auth=None, headers=None, timeout=5):
        """Subscribe to ``channel`` (and ``others``) expecting ``channel`` refused; return its ``connect_error`` data."""
        self.sio.connect(
            self.url,
            namespaces=["/" + c for c in (channel, *others)],
            transports=[self.transport],
            auth=auth,
            headers=self._headers(headers),
            wait=False,
        )
        wait_until(
            lambda: channel in self.connect_errors,
            timeout=timeout,
            interval=0.01,
            message=lambda: f"{channel!r} was not refused within {timeout}s; events: {self.events}",
        )
        return self.connect_errors[channel]

    def call(self, channel, event, data=None, timeout=5):
        return self.sio.call(event, data, namespace="/" + channel, timeout=timeout)

    def emit(self, channel, event, data=None):
        self.sio.emit(event, data, namespace="/" + channel)

    def received(self, channel, event):
        return [data for ch, ev, data in self.events if ch == channel and ev == event]

    def wait_for(self, channel, event, count=1, timeout=5):
        """Wait until ``count`` events ``event`` arrived on ``channel``; return them all."""
        wait_until(
            lambda: len(self.received(channel, event)) >= count,
            timeout=timeout,
            interval=0.01,
            message=lambda: (
                f"Expected {count} {event!r} on {channel!r} within {timeout}s; got "
                f"{self.received(channel, event)}; all events: {self.events}"
            ),
        )
        return self.received(channel, event)

    def drop(self):
        """Break the websocket without a close packet, as a network failure does.

        The server sees a transport close, not a client disconnect, so a
        recovery session waits for the client.
        """
        self.sio.eio.ws.shutdown()
        wait_until(lambda: not self.sio.connected, timeout=5, interval=0.01, message="the client did not notice its drop")

    def close(self):
        """Disconnect if connected, and release the sockets, also of a connection the server dropped."""
        try:
            if self.sio.namespaces:
                self.sio.disconnect()
            else:
                # Every subscription was refused: the server closes the
                # connection itself within a second. Over polling, waiting for
                # the client's pending GET would take a ping interval.
                self.sio.eio.disconnect(abort=True)
        finally:
            # python-engineio's client leaves its websocket open when the
            # server drops the connection without a close packet.
            ws = getattr(self.sio.eio, "ws", None)
            if ws is not None:
                ws.shutdown()
            self.http.close()


def raw_socket(url, source=None):
    """A raw Engine.IO websocket, for sending what no correct client sends (from loopback address ``source``, if given)."""
    sock = None
    if source is not None:
        import socket

        host, port = url.rsplit("/", 1)[1].rsplit(":", 1)
        sock = socket.create_connection((host, int(port)), timeout=5, source_address=(source, 0))
    ws = websocket.create_connection(
        url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket", timeout=5, socket=sock
    )
    assert ws.recv().startswith("0{")
    return ws


def session_cookie(username):
    """A ``Cookie`` header value carrying a fresh logged-in session of a new user ``username``."""
    from django.contrib.auth.models import User
    from django.test import Client

    client = Client()
    client.force_login(User.objects.create_user(username))
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


class RawPolling:
    """A raw long-polling Engine.IO session, opened with ``cookie`` and ``origin`` and sending them every time."""

    def __init__(self, server_url, cookie=None, origin=None):
        self.base = server_url + "/socket.io/?EIO=4&transport=polling"
        self.http = requests.Session()
        self.headers = {k: v for k, v in (("Cookie", cookie), ("Origin", origin)) if v}
        response = self.http.get(self.base, headers=self.headers, timeout=5)
        assert 200 == response.status_code and response.text.startswith("0{"), response.text
        self.sid = json.loads(response.text[1:])["sid"]
        self.url = f"{self.base}&sid={self.sid}"
        self.packets = []

    def post(self, body, headers=None):
        return self.http.post(self.url, data=body.encode(), headers={**self.headers, **(headers or {})}, timeout=5)

    def read_until(self, predicate, timeout=5):
        """Poll (answering pings) until a packet satisfies ``predicate``; return every packet read so far."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            response = self.http.get(self.url, headers=self.headers, timeout=5)
            assert 200 == response.status_code, response.text
            for packet in response.text.split("\x1e"):
                if packet == "2":
                    assert "OK" == self.post("3").text
                    continue
                self.packets.append(packet)
            if any(predicate(p) for p in self.packets):
                return self.packets
        raise AssertionError(f"No expected packet within {timeout} s; got {self.packets}")

    def close(self):
        """Close the session (an Engine.IO close packet) and the HTTP connections."""
        try:
            self.post("1")
        finally:
            self.http.close()
