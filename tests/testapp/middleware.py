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


class CostlyHandshakeMiddleware:
    """Compute for ``X-Costly-Handshake`` seconds without yielding, as a costly session store or authentication would (tests/test_pacing.py)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        deadline = time.monotonic() + float(request.META.get("HTTP_X_COSTLY_HANDSHAKE", "0"))
        while time.monotonic() < deadline:
            pass
        return self.get_response(request)


class SeenHandshakesMiddleware:
    """Count the handshakes that reached Django's code (this middleware) and say how many in ``X-Handshakes-Seen`` (tests/test_limits.py)."""

    seen = 0

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        SeenHandshakesMiddleware.seen += 1
        response = self.get_response(request)
        response["X-Handshakes-Seen"] = str(SeenHandshakesMiddleware.seen)
        return response
