"""Waiting for something observable to happen, instead of sleeping for a fixed time."""
import time


def wait_until(predicate, timeout=5, interval=0.05, message=None):
    """Call ``predicate`` until it returns something truthy, and return that.

    ``predicate`` is called at least once, and once more after ``timeout``
    seconds before giving up with ``AssertionError(message)``; ``message`` may
    be a callable, called only then, for a message built from the final state.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            if callable(message):
                message = message()
            raise AssertionError(message or f"{getattr(predicate, '__name__', predicate)} was not true within {timeout} s")
        if interval:
            time.sleep(interval)
