"""Middleware of the test project's handshakes."""
import time


class SlowHandshakeMiddleware:
    """Wait ``X-Slow-Handshake`` seconds (a cooperative sleep) before the request goes on, as a slow session store would."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        seconds = float(request.META.get("HTTP_X_SLOW_HANDSHAKE", "0"))
        if seconds:
            time.sleep(seconds)
        return self.get_response(request)
