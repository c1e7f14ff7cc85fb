"""A thin recorder around the real python-socketio client, for end-to-end tests."""
import queue
import time

import socketio


class WireClient:
    """One real Socket.IO connection that records every event it receives."""

    def __init__(self, url, transport="websocket"):
        self.url = url
        self.transport = transport
        self.sio = socketio.Client(reconnection=False)
        self.events = []
        self._arrivals = queue.Queue()
        self.connect_errors = {}
        self.disconnects = []
        self.sio.on("*", self._on_event, namespace="*")
        self.sio.on("connect_error", self._on_connect_error, namespace="*")
        self.sio.on("disconnect", self._on_disconnect, namespace="*")

    def _on_event(self, event, namespace, *args):
        self.events.append((namespace[1:], event, args[0] if len(args) == 1 else list(args)))
        self._arrivals.put(None)

    def _on_connect_error(self, namespace, data):
        self.connect_errors[namespace[1:]] = data

    def _on_disconnect(self, namespace, *args):
        self.disconnects.append(namespace[1:])

    def connect(self, *channels, auth=None, headers=None, wait_timeout=5):
        self.sio.connect(
            self.url,
            namespaces=["/" + c for c in channels],
            transports=[self.transport],
            auth=auth,
            headers=headers or {},
            wait_timeout=wait_timeout,
        )
        return self

    def call(self, channel, event, data=None, timeout=5):
        return self.sio.call(event, data, namespace="/" + channel, timeout=timeout)

    def emit(self, channel, event, data=None):
        self.sio.emit(event, data, namespace="/" + channel)

    def received(self, channel, event):
        return [data for ch, ev, data in self.events if ch == channel and ev == event]

    def wait_for(self, channel, event, count=1, timeout=5):
        """Wait until ``count`` events ``event`` arrived on ``channel``; return them all."""
        deadline = time.monotonic() + timeout
        while len(self.received(channel, event)) < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(
                    f"Expected {count} {event!r} on {channel!r} within {timeout}s; got "
                    f"{self.received(channel, event)}; all events: {self.events}"
                )
            try:
                self._arrivals.get(timeout=remaining)
            except queue.Empty:
                pass
        return self.received(channel, event)

    def close(self):
        self.sio.disconnect()
