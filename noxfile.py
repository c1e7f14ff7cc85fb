"""The supported Django and Python combinations, one nox session each.

Example usage::

    nox -l                      # the sessions
    nox -s django-6.1           # Django 6.1 on Python 3.13
    nox -t wheel                # the built wheel on every supported pair
    nox -t wheel-py3.12         # ... on Python 3.12

Each ``django-<series>`` session creates its own virtualenv, installs the built
wheel of this checkout together with the exact versions of requirements-dev.txt
but its Django (one resolution: the wheel's own requirements must admit them),
and runs the tests on the installed package: the whole suite and the demo's on
the main combination (as ``make test`` does in .venv), the quick files
(``QUICK_FILES``: those that meet Django's APIs, about 100 s of tests) and the
demo's on the others (``make test`` runs those two sessions at the same time,
each on a test database of its own). Every test file is in ``QUICK_FILES`` or
``MAIN_ONLY_FILES``. Extra arguments go to pytest:
``nox -s django-6.0 -- -x tests/test_views.py``.

Each ``wheel-<series>-py<python>`` session (tag ``wheel``) installs the built
wheel and the newest release of its Django series into an empty virtualenv,
letting the installer resolve every other dependency from the wheel's
metadata, on every pair of ``SUPPORTED``; then ``manage.py check`` on a new
``startproject`` and ``SMOKE_TESTS`` (about 5 s). ``make test`` runs them
beside the documentation build.
"""
import contextlib
import fcntl
import glob
import os
import re
import sys
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

#: Every supported Django series -> the Pythons it supports among ours (Django 6
#: needs Python 3.12). The ``wheel-*`` sessions install the built wheel on each
#: pair; setup.py's classifiers name the same series and Pythons
#: (tests/test_packaging.py checks).
SUPPORTED = {
    "5.2": ["3.11", "3.12", "3.13"],
    "6.0": ["3.12", "3.13"],
    "6.1": ["3.12", "3.13"],
}

#: What a ``wheel-*`` session runs on the installed package after ``manage.py
#: check``: views, routing, dispatch and the WSGI application in process, and a
#: live server over both transports. About 5 s.
SMOKE_TESTS = [
    "tests/test_views.py",
    "tests/test_routers.py",
    "tests/test_dispatch.py",
    "tests/test_wsgi.py",
    "tests/test_server.py::test_send_reaches_only_the_subscriber",
    "tests/test_server.py::test_broadcast_from_a_django_view",
]

#: The test tools a ``wheel-*`` session installs beside the wheel (at
#: requirements-dev.txt's versions): what SMOKE_TESTS import.
SMOKE_TOOLS = ["pytest", "pytest-django", "psycopg", "requests", "websocket-client"]

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
    "tests/test_pacing.py",
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


def test_database(series, python=None):
    """The database name of a session (``"socketio_views_django60"``, ``"socketio_views_wheel52_py312"``); its tests use ``test_`` and it."""
    if python is None:
        return "socketio_views_django" + series.replace(".", "")
    return "socketio_views_wheel" + series.replace(".", "") + "_py" + python.replace(".", "")


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


def built_wheel(session):
    """The path of this checkout's wheel: ``SOCKETIO_VIEWS_WHEEL`` if set (``make test`` builds it once), else built now.

    setuptools is pinned in requirements-dev.txt: the build needs no index, and
    runs in the Python that runs nox. It writes build/ and
    socketio_views.egg-info into the checkout: one build at a time.
    """
    given = os.environ.get("SOCKETIO_VIEWS_WHEEL")
    if given:
        return given
    outdir = session.create_tmp()
    with checkout_lock():
        session.run(
            sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", outdir, str(ROOT),
            external=True, silent=True,
        )
    [wheel] = Path(outdir).glob("socketio_views-*.whl")
    return str(wheel)


def pins(*names):
    """requirements-dev.txt's lines for ``names`` (``"psycopg"`` finds ``psycopg[binary]==...``)."""
    lines = (ROOT / "requirements-dev.txt").read_text(encoding="utf-8").splitlines()
    found = [line for line in lines for name in names if re.match(rf"{re.escape(name)}(\[|\s*==)", line, re.IGNORECASE)]
    if len(found) != len(names):
        raise RuntimeError(f"requirements-dev.txt pins {found}, not each of {names}")
    return found


#: Run in the session's virtualenv, from a folder outside the checkout: where
#: socketio_views and its dependencies were imported from, and their versions.
WHERE_INSTALLED = """
import sys
from importlib.metadata import version
import django, socketio_views
print(f"Python {sys.version.split()[0]}, Django {django.__version__}, socketio_views from {socketio_views.__file__}")
print(", ".join(f"{name} {version(name)}" for name in ("python-socketio", "python-engineio", "gevent", "attrs", "cattrs", "limits")))
if not socketio_views.__file__.startswith(sys.prefix):
    sys.exit("socketio_views is not the installed wheel")
"""


def run_tests(session, *args, env):
    """pytest on the installed package, the checkout's tests importable after it.

    A ``.pth`` line puts the checkout's folder on ``sys.path`` after the
    virtualenv's site-packages, and ``-P`` keeps it off the front: the tests
    package and its settings come from the checkout, socketio_views from the
    wheel. (Servers that the tests start with the checkout on ``PYTHONPATH``
    import the checkout's copy of the same source.)
    """
    purelib = session.run(
        "python", "-c", "import sysconfig; print(sysconfig.get_path('purelib'))", silent=True
    ).strip()
    Path(purelib, "socketio_views_checkout_tests.pth").write_text(f"{ROOT}\n", encoding="utf-8")
    session.run("python", "-P", "-m", "pytest", *args, env=env)


def add_session(series, python, django, whole):
    def tests(session):
        # uv writes no bytecode unless asked (pip does), and where PYTHONDONTWRITEBYTECODE
        # is set (this machine sets it) nothing else would: every server process the
        # tests start would compile Django and its dependencies again, seconds each.
        compiled = {"UV_COMPILE_BYTECODE": "1"}
        # One resolution: the wheel's requirements with the pinned versions.
        session.install(built_wheel(session), "-r", requirements_with(django, session.create_tmp()), env=compiled)
        with session.chdir(session.create_tmp()):
            session.run("python", "-c", WHERE_INSTALLED)
        selection = session.posargs or ([] if whole else QUICK_FILES)
        # `make test` runs the sessions beside each other: each has a test
        # database of its own (tests/settings.py names it after this).
        run_tests(session, *selection, env={"SOCKETIO_VIEWS_TEST_DB": test_database(series)})
        if not session.posargs:
            session.chdir("demo")
            run_tests(session, env={})

    scope = "the whole suite" if whole else "the quick tests"
    tests.__doc__ = f"Django {django} on Python {python}, from the built wheel: {scope} and the demo's."
    nox.session(name=f"django-{series}", python=find_python(python))(tests)


#: Appended to a new startproject's settings.py and urls.py: the app, a channel and its router.
SMOKE_PROJECT = {
    "settings.py": """
INSTALLED_APPS += ["socketio_views"]
""",
    "urls.py": """
from django.urls import include
from socketio_views import ChannelRouter, ChannelView


class EchoChannel(ChannelView):
    def on_message(self, data):
        return data


router = ChannelRouter()
router.register("echo", EchoChannel, name="echo")
urlpatterns += [path("socket.io/", include(router.urls))]
""",
}


def add_wheel_session(series, python):
    def wheel(session):
        folder = Path(session.create_tmp()).resolve()
        # Nothing pinned but Django's series: the installer resolves the rest from the wheel's metadata.
        session.install(built_wheel(session), f"Django~={series}.0", *pins(*SMOKE_TOOLS), env={"UV_COMPILE_BYTECODE": "1"})
        with session.chdir(folder):
            session.run("python", "-c", WHERE_INSTALLED)
            project = folder / "smoke"
            if not project.exists():
                session.run("django-admin", "startproject", "smoke")
                for name, text in SMOKE_PROJECT.items():
                    with open(project / "smoke" / name, "a", encoding="utf-8") as module:
                        module.write(text)
        with session.chdir(folder / "smoke"):
            session.run("python", "manage.py", "check", "--fail-level", "WARNING")
        run_tests(session, *(session.posargs or SMOKE_TESTS), "-q", "-p", "no:cacheprovider",
                  env={"SOCKETIO_VIEWS_TEST_DB": test_database(series, python)})

    wheel.__doc__ = f"The built wheel with Django {series} on Python {python}, dependencies resolved: check and smoke tests."
    nox.session(name=f"wheel-{series}-py{python}", python=find_python(python), tags=["wheel", f"wheel-py{python}"])(wheel)


for series, (python, django, whole) in COMBINATIONS.items():
    add_session(series, python, django, whole)

for series, pythons in SUPPORTED.items():
    for python in pythons:
        add_wheel_session(series, python)


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
