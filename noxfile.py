"""The supported Django and Python combinations, one nox session each.

Example usage::

    nox -l                      # the sessions
    nox -s django-6.1           # Django 6.1 on Python 3.13

Each session creates its own virtualenv with the exact versions of
requirements-dev.txt but its Django, installs this checkout and runs the tests:
the whole suite and the demo's on the main combination (as ``make test`` does
in .venv), the quick files (``QUICK_FILES``: those that meet Django's APIs, about
100 s of tests) and the demo's on the others (``make test`` runs those two
sessions at the same time as the whole suite, each on a test database of its
own). Every test file is in ``QUICK_FILES`` or
``MAIN_ONLY_FILES``. Extra arguments go to pytest:
``nox -s django-6.0 -- -x tests/test_views.py``.
"""
import contextlib
import fcntl
import glob
import os
import re
from pathlib import Path

import nox

ROOT = Path(__file__).resolve().parent

#: Django series -> (its Python, its exact version, whether the whole suite runs).
#: setup.py's classifiers name the same versions (tests/test_packaging.py
#: checks); the main combination's Django is requirements-dev.txt's pin.
COMBINATIONS = {
    "5.2": ("3.11", "5.2.19", True),
    "6.0": ("3.12", "6.0.10", False),
    "6.1": ("3.13", "6.1.3", False),
}

#: The quick run of the other combinations: the test files that meet Django's
#: own APIs, whose behaviour may change between its versions (settings, auth,
#: sessions, the ORM and migrations, checks, management commands and
#: startproject, the admin, templates, middleware and the test client), and the
#: core over both transports (test_server.py), runserver_socketio and gunicorn,
#: the package and the demo. About 100 s of tests; the demo's run after them.
QUICK_FILES = [
    "tests/test_admin_ui.py",
    "tests/test_checks.py",
    "tests/test_compat.py",
    "tests/test_compat_chat.py",
    "tests/test_contracts.py",
    "tests/test_db.py",
    "tests/test_demo.py",
    "tests/test_dispatch.py",
    "tests/test_docs.py",
    "tests/test_docs_examples.py",
    "tests/test_docs_live.py",
    "tests/test_docstring_examples.py",
    "tests/test_engine.py",
    "tests/test_history.py",
    "tests/test_history_db.py",
    "tests/test_hubs.py",
    "tests/test_identity.py",
    "tests/test_live.py",
    "tests/test_live_case.py",
    "tests/test_logs.py",
    "tests/test_metrics.py",
    "tests/test_mixins.py",
    "tests/test_origins.py",
    "tests/test_packaging.py",
    "tests/test_presence.py",
    "tests/test_routers.py",
    "tests/test_runserver.py",
    "tests/test_runserver_output.py",
    "tests/test_server.py",
    "tests/test_testing.py",
    "tests/test_tutorial.py",
    "tests/test_unsupported_server.py",
    "tests/test_views.py",
    "tests/test_wsgi.py",
]

#: Test files run on the main combination only. What they exercise is
#: python-socketio, gevent, Redis, Chromium or plain Python rather than Django:
#: hostile clients, hundreds of connections, Redis outages, slow consumers,
#: drains and the browser, many of them waiting on timeouts (test_security.py
#: alone takes over a minute). tests/test_packaging.py checks that every test
#: file is in one of the two lists: a new one must be classified.
MAIN_ONLY_FILES = [
    "tests/test_bounds.py",
    "tests/test_browser.py",
    "tests/test_ci.py",
    "tests/test_cluster.py",
    "tests/test_demo_browser.py",
    "tests/test_drain.py",
    "tests/test_exceptions.py",
    "tests/test_fuzz.py",
    "tests/test_handlers.py",
    "tests/test_hub.py",
    "tests/test_idempotency.py",
    "tests/test_limits.py",
    "tests/test_live_browser.py",
    "tests/test_outages.py",
    "tests/test_payloads.py",
    "tests/test_queues.py",
    "tests/test_recovery.py",
    "tests/test_routing.py",
    "tests/test_scaleout.py",
    "tests/test_security.py",
    "tests/test_slow_consumers.py",
    "tests/test_teardown.py",
    "tests/test_writes.py",
]

nox.options.error_on_missing_interpreters = True
# uv installs a session's packages in seconds (pip takes about 20 s); virtualenv and pip without it.
nox.options.default_venv_backend = "uv|virtualenv"


def find_python(version):
    """The interpreter of Python ``version`` (``"3.12"``).

    pyenv's own build when it has one: its shims run only the versions
    selected with ``pyenv global`` or ``PYENV_VERSION``. Else ``python3.12``
    from ``PATH``.
    """
    root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    builds = glob.glob(os.path.join(root, "versions", f"{version}.*", "bin", f"python{version}"))
    builds = [build for build in builds if re.fullmatch(rf"{re.escape(version)}\.\d+", Path(build).parent.parent.name)]
    if builds:
        return max(builds, key=lambda build: int(Path(build).parent.parent.name.rsplit(".", 1)[1]))
    return f"python{version}"


def requirements_with(django, folder):
    """A copy of requirements-dev.txt with ``Django==<django>`` instead of its pin."""
    lines = (ROOT / "requirements-dev.txt").read_text(encoding="utf-8").splitlines()
    pins = [f"Django=={django}" if re.match(r"django\s*==", line, re.IGNORECASE) else line for line in lines]
    if f"Django=={django}" not in pins:
        raise RuntimeError("requirements-dev.txt pins no Django version")
    path = Path(folder) / "requirements.txt"
    path.write_text("\n".join(pins) + "\n", encoding="utf-8")
    return str(path)


def test_database(series):
    """The database name of ``series``'s session (``"socketio_views_django60"``); its tests use ``test_`` and it."""
    return "socketio_views_django" + series.replace(".", "")


@contextlib.contextmanager
def checkout_lock():
    """Hold an exclusive lock on this checkout's .nox folder: sessions run at once by ``make test`` take turns."""
    folder = ROOT / ".nox"
    folder.mkdir(exist_ok=True)
    with open(folder / "checkout.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def add_session(series, python, django, whole):
    def tests(session):
        # uv writes no bytecode unless asked (pip does), and where PYTHONDONTWRITEBYTECODE
        # is set (this machine sets it) nothing else would: every server process the
        # tests start would compile Django and its dependencies again, seconds each.
        compiled = {"UV_COMPILE_BYTECODE": "1"}
        session.install("-r", requirements_with(django, session.create_tmp()), env=compiled)
        # setuptools is pinned in requirements-dev.txt: no index needed to build. The
        # build writes socketio_views.egg-info into the checkout: one session at a time.
        with checkout_lock():
            session.install("--no-build-isolation", "--no-deps", "-e", ".")
        selection = session.posargs or ([] if whole else QUICK_FILES)
        # `make test` runs the sessions beside each other and the main suite: each
        # has a test database of its own (tests/settings.py names it after this).
        session.run("python", "-m", "pytest", *selection, env={"SOCKETIO_VIEWS_TEST_DB": test_database(series)})
        if not session.posargs:
            session.chdir("demo")
            session.run("python", "-m", "pytest")

    scope = "the whole suite" if whole else "the quick tests"
    tests.__doc__ = f"Django {django} on Python {python}: {scope} and the demo's."
    nox.session(name=f"django-{series}", python=find_python(python))(tests)


for series, (python, django, whole) in COMBINATIONS.items():
    add_session(series, python, django, whole)


#: The tests of the transport run by the ``upstream`` session: the adapter's
#: hooks, the server over both transports, the limits, recovery and scale-out.
UPSTREAM_FILES = [
    "tests/test_engine.py",
    "tests/test_server.py",
    "tests/test_limits.py",
    "tests/test_slow_consumers.py",
    "tests/test_recovery.py",
    "tests/test_routing.py",
    "tests/test_cluster.py",
    "tests/test_scaleout.py",
]


@nox.session(python=find_python(COMBINATIONS["5.2"][0]), default=False)
def upstream(session):
    """The transport's tests against the newest released python-socketio and python-engineio (not part of make test).

    setup.py admits only the tested minor series; this session installs the
    newest releases over them, to learn before an upgrade what it breaks
    (see docs/upgrading.rst).
    """
    folder = session.create_tmp()
    lines = (ROOT / "requirements-dev.txt").read_text(encoding="utf-8").splitlines()
    unpinned = [line for line in lines if not re.match(r"python-(socketio|engineio)\s*==", line, re.IGNORECASE)]
    path = Path(folder) / "requirements.txt"
    path.write_text("\n".join(unpinned) + "\n", encoding="utf-8")
    session.install("-r", str(path), env={"UV_COMPILE_BYTECODE": "1"})
    session.install("--upgrade", "python-socketio", "python-engineio")
    session.install("--no-build-isolation", "--no-deps", "-e", ".")
    session.run(
        "python", "-c",
        "from importlib.metadata import version as v; "
        "print('python-socketio', v('python-socketio'), '/ python-engineio', v('python-engineio'))",
    )
    session.run("python", "-m", "pytest", *(session.posargs or UPSTREAM_FILES))
