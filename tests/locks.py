"""What the test processes that run at once on one checkout must take turns at.

``make test`` runs the suite in two pytest-xdist workers and the other Django
versions' nox sessions beside it: several processes, one checkout.
"""
import fcntl
import hashlib
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_lock = threading.Lock()
_holders = 0
_file = None


def lock_path(name):
    """A lock file for ``name`` in the temporary directory, one per checkout."""
    checkout = hashlib.sha1(str(ROOT).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"socketio_views-tests-{checkout}-{name}.lock"


@contextmanager
def autoreload_lock():
    """Hold while a server runs with Django's autoreloader, or while a test touches a module it watches.

    Touching a module restarts every autoreloading server that imports it,
    whichever process started it, so the tests touch a module only their own
    server imports (tests/conftest.py's ``watched_module``). The lock is in
    the temporary directory, which each nox session sets apart: it keeps the
    processes of one session apart (the two xdist workers), not the sessions. Held by
    one process at a time (an exclusive ``flock``), and any number of times
    within it, so a module's fixture and its tests may both hold it.
    """
    global _holders, _file
    with _lock:
        if _holders == 0:
            _file = open(lock_path("autoreload"), "a")
            fcntl.flock(_file, fcntl.LOCK_EX)
        _holders += 1
    try:
        yield
    finally:
        with _lock:
            _holders -= 1
            if _holders == 0:
                fcntl.flock(_file, fcntl.LOCK_UN)
                _file.close()
                _file = None
