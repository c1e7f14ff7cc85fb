"""The supported Django and Python combinations, from the built wheel.

Example usage::

    nox -l                      # the sessions
    nox -s django-6.1           # Django 6.1 on Python 3.13, requirements-dev.txt's versions
    nox -t wheel                # the built wheel on every supported pair
    nox -t wheel-py3.12         # ... on Python 3.12
    nox -t quick                # the quick tests on every supported pair

Each ``django-<series>`` session creates its own virtualenv, installs the built
wheel of this checkout together with the exact versions of requirements-dev.txt
but its Django (one resolution: the wheel's own requirements must admit them),
and runs the tests on the installed package: the whole suite and the demo's on
the main combination (as ``make test`` does in .venv), the quick files
(``QUICK_FILES``: those that meet Django's APIs, about 160 s of tests) and the
demo's on the others. Every test file is in ``QUICK_FILES`` or
``MAIN_ONLY_FILES``. Extra arguments go to pytest:
``nox -s django-6.0 -- -x tests/test_views.py``.

Each ``wheel-<series>-py<python>`` session (tag ``wheel``) installs the built
wheel, the newest release of its Django series and the test tools at
requirements-dev.txt's versions into an empty virtualenv, letting the
installer resolve every other dependency from the wheel's metadata, on every
pair of ``SUPPORTED``; then ``manage.py check`` on a new ``startproject``, and
the quick files and the demo's (tag ``quick``), but on the two pairs whose
quick files a ``django-<series>`` session runs with the pinned versions
(6.0/3.12, 6.1/3.13), where ``SMOKE_TESTS`` (about 5 s) run (tag ``smoke``).
So the quick tests run from the wheel on every pair, once (``-t quick``:
seven sessions, each on a test database of its own); ``make test`` runs them
all, beside and after the whole suite.

The tests of every session run on the installed wheel, never on the
checkout's source: see :func:`guard_the_wheel` and :func:`run_tests`.
"""
import contextlib
import fcntl
import glob
import os
import re
import sys
import zipfile
from email.parser import HeaderParser
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
    """The database name of a session (``"socketio_views_django60"``, ``"socketio_views_wheel52_py312"``); its tests use ``test_`` and it.

    ``SOCKETIO_VIEWS_TEST_DB``, where set (for checkouts that run their tests
    at once), takes the place of ``socketio_views``.
    """
    base = os.environ.get("SOCKETIO_VIEWS_TEST_DB", "socketio_views")
    if python is None:
        return f"{base}_django" + series.replace(".", "")
    return f"{base}_wheel" + series.replace(".", "") + "_py" + python.replace(".", "")


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

#: Written into a session's site-packages and imported by a ``.pth`` line, so
#: at the start of every Python process of its virtualenv: the test runner and
#: every server, command and gunicorn the tests start. An import of
#: socketio_views that the path would resolve to the checkout's source fails,
#: saying where from, instead of quietly testing the checkout for the wheel.
CHECKOUT_GUARD = '''"""Refuse socketio_views from the checkout: this virtualenv tests the installed wheel (noxfile.py)."""
import os
import sys
from importlib.machinery import PathFinder

CHECKOUT = {package!r}


class CheckoutGuard:
    @staticmethod
    def find_spec(name, path=None, target=None):
        if name == "socketio_views":
            spec = PathFinder.find_spec(name, path)
            if spec is not None and spec.origin and os.path.realpath(spec.origin).startswith(CHECKOUT + os.sep):
                raise ImportError(
                    f"socketio_views would be imported from the checkout ({{spec.origin}}), not the wheel "
                    f"installed in {{sys.prefix}}: sys.path is {{sys.path}}"
                )
        return None


sys.meta_path.insert(0, CheckoutGuard)
'''


def guard_the_wheel(session):
    """Put the checkout's tests on ``sys.path`` after site-packages and refuse its socketio_views, in every process.

    A ``.pth`` line puts the checkout's folder on ``sys.path`` after the
    virtualenv's site-packages: the tests package and its settings come from
    the checkout, socketio_views from the wheel. ``CHECKOUT_GUARD`` fails any
    import of socketio_views that would find the checkout's source first (a
    process started in the checkout, ``PYTHONPATH`` or gunicorn's ``--chdir``
    leading to it); an import from the checkout is made here once to show
    that the guard refuses it.
    """
    # Found, not asked of the interpreter: also with --install-only and with `nox -R`, which run nothing of the kind.
    [purelib] = Path(session.virtualenv.location).glob("lib/python3.*/site-packages")
    package = os.path.realpath(ROOT / "socketio_views")
    Path(purelib, "_socketio_views_checkout_guard.py").write_text(CHECKOUT_GUARD.format(package=package), encoding="utf-8")
    Path(purelib, "socketio_views_checkout_tests.pth").write_text(
        f"{ROOT}\nimport _socketio_views_checkout_guard\n", encoding="utf-8"
    )
    with session.chdir(ROOT):
        refused = session.run("python", "-c", "import socketio_views", success_codes=[1], silent=True)
    if refused is not None and "not the wheel installed in" not in refused:
        session.error(f"The guard let socketio_views be imported from the checkout:\n{refused}")


#: The environment of the tests' processes: they write bytecode. uv writes none
#: at install unless asked (UV_COMPILE_BYTECODE compiles every module of every
#: package, about 7 s of CPU a virtualenv, most of it never imported), and where
#: PYTHONDONTWRITEBYTECODE is set (this machine sets it) nothing else would:
#: every server process the tests start would compile Django and its
#: dependencies again, seconds each. Unset, the first process to import a
#: module writes its bytecode in the virtualenv, for the others.
WRITE_BYTECODE = {"PYTHONDONTWRITEBYTECODE": None}


def run_tests(session, *args, env):
    """pytest on the installed package (see :func:`guard_the_wheel`), from a folder outside the checkout.

    Not in the checkout: the processes the tests start (``python -c``,
    ``python -m django``, gunicorn) put their working folder first on
    ``sys.path``. ``-P`` and ``--import-mode=append`` keep the checkout off
    the front of pytest's own path. Paths in ``args`` are the checkout's.
    """
    paths = [str(ROOT / arg) if not arg.startswith("-") and (ROOT / arg.split("::")[0]).exists() else arg for arg in args]
    folder = Path(session.create_tmp(), "run")
    folder.mkdir(exist_ok=True)
    with session.chdir(folder):
        session.run(
            "python", "-P", "-m", "pytest", "-c", str(ROOT / "pytest.ini"), "--rootdir", str(ROOT),
            "--import-mode=append", *(paths or [str(ROOT / "tests")]), env={**WRITE_BYTECODE, **env},
        )


def run_demo_tests(session):
    """The demo's tests, from demo/ (its pytest.ini); it holds no copy of socketio_views."""
    with session.chdir(ROOT / "demo"):
        session.run("python", "-P", "-m", "pytest", "-p", "no:cacheprovider", env=WRITE_BYTECODE)


def add_session(series, python, django, whole):
    def tests(session):
        # One resolution: the wheel's requirements with the pinned versions.
        session.install(built_wheel(session), "-r", requirements_with(django, session.create_tmp()))
        with session.chdir(session.create_tmp()):
            session.run("python", "-c", WHERE_INSTALLED)
        guard_the_wheel(session)
        selection = session.posargs or ([] if whole else QUICK_FILES)
        # `make test` runs the sessions beside each other: each has a test
        # database of its own (tests/settings.py names it after this).
        run_tests(session, *selection, env={"SOCKETIO_VIEWS_TEST_DB": test_database(series)})
        if not session.posargs:
            run_demo_tests(session)

    scope = "the whole suite" if whole else "the quick tests"
    tests.__doc__ = f"Django {django} on Python {python}, from the built wheel: {scope} and the demo's."
    nox.session(name=f"django-{series}", python=find_python(python), tags=[] if whole else ["quick"])(tests)


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


def wheel_requirements(wheel):
    """The names of the packages the wheel's metadata requires (``Requires-Dist``, not extras'), lower-cased."""
    with zipfile.ZipFile(wheel) as archive:
        [name] = [name for name in archive.namelist() if name.endswith(".dist-info/METADATA")]
        metadata = HeaderParser().parsestr(archive.read(name).decode("utf-8"))
    return {re.match(r"[A-Za-z0-9._-]+", line).group(0).lower() for line in metadata.get_all("Requires-Dist") or [] if "extra ==" not in line}


def test_tools(wheel):
    """requirements-dev.txt's lines for what the wheel does not require: the test tools, at their pinned versions."""
    required = wheel_requirements(wheel)
    lines = (ROOT / "requirements-dev.txt").read_text(encoding="utf-8").splitlines()
    names = [re.match(r"[A-Za-z0-9._-]+", line) for line in lines if line.strip() and not line.startswith("#")]
    return [match.string for match in names if match.group(0).lower().replace("_", "-") not in required]


def wheel_scope(series, python):
    """What a ``wheel-*`` session tests: ``"quick"`` (``QUICK_FILES`` and the demo's) or ``"smoke"`` (``SMOKE_TESTS``).

    Each pair runs the quick tests from the wheel once: on the pairs of a
    ``django-<series>`` session that ``make test`` runs (the quick tests with
    requirements-dev.txt's versions), the ``wheel-*`` session adds the smoke
    tests with the newest versions; on every other pair it runs the quick tests.
    """
    pinned_python, _, whole = COMBINATIONS[series]
    return "smoke" if python == pinned_python and not whole else "quick"


def add_wheel_session(series, python):
    scope = wheel_scope(series, python)

    def wheel(session):
        folder = Path(session.create_tmp()).resolve()
        built = built_wheel(session)
        # Nothing pinned but Django's series and the test tools: the installer resolves the
        # rest (python-socketio, gevent, attrs...) from the wheel's metadata, the newest it admits.
        session.install(built, f"Django~={series}.0", *test_tools(built))
        project = folder / "smoke"
        project.mkdir(exist_ok=True)
        with session.chdir(folder):
            session.run("python", "-c", WHERE_INSTALLED)
            # Not with --install-only (nothing runs then): later, with `nox -R`.
            if not (project / "manage.py").exists() and session.run("django-admin", "startproject", "smoke", str(project)):
                for name, text in SMOKE_PROJECT.items():
                    with open(project / "smoke" / name, "a", encoding="utf-8") as module:
                        module.write(text)
        with session.chdir(project):
            session.run("python", "manage.py", "check", "--fail-level", "WARNING")
        guard_the_wheel(session)
        env = {"SOCKETIO_VIEWS_TEST_DB": test_database(series, python)}
        if session.posargs:
            run_tests(session, *session.posargs, env=env)
        elif scope == "smoke":
            run_tests(session, *SMOKE_TESTS, "-q", "-p", "no:cacheprovider", env=env)
        else:
            run_tests(session, *QUICK_FILES, "-p", "no:cacheprovider", env=env)
            run_demo_tests(session)

    tests = "smoke tests" if scope == "smoke" else "quick tests and the demo's"
    wheel.__doc__ = f"The built wheel with Django {series} on Python {python}, dependencies resolved: check, {tests}."
    nox.session(name=f"wheel-{series}-py{python}", python=find_python(python), tags=["wheel", f"wheel-py{python}", scope])(wheel)


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


@nox.session(python=find_python(COMBINATIONS["5.2"][0]), default=False, venv_backend="uv")
def upstream(session):
    """The transport's tests against the newest released python-socketio and python-engineio (not part of make test).

    setup.py admits only the tested minor series. This session installs the
    built wheel with requirements-dev.txt's versions but for those two, in one
    resolution in which uv's ``--override`` replaces every requirement on them
    (the wheel's bounds, python-socketio's on python-engineio) with none: the
    resolver picks their newest releases and fits everything else around
    them. Then the transport's tests on the installed wheel, to learn before
    an upgrade what it breaks (see docs/upgrading.rst).
    """
    folder = Path(session.create_tmp())
    lines = (ROOT / "requirements-dev.txt").read_text(encoding="utf-8").splitlines()
    unpinned = [line for line in lines if not re.match(r"python-(socketio|engineio)\s*==", line, re.IGNORECASE)]
    requirements, overrides = folder / "requirements.txt", folder / "overrides.txt"
    requirements.write_text("\n".join(unpinned) + "\n", encoding="utf-8")
    overrides.write_text("python-socketio\npython-engineio\n", encoding="utf-8")
    session.install(built_wheel(session), "-r", str(requirements), "--override", str(overrides))
    with session.chdir(folder):
        session.run("python", "-c", WHERE_INSTALLED)
    guard_the_wheel(session)
    run_tests(session, *(session.posargs or UPSTREAM_FILES), env={"SOCKETIO_VIEWS_TEST_DB": test_database("upstream")})
