"""The supported Django and Python combinations, one nox session each.

Example usage::

    nox -l                      # the sessions
    nox -s django-6.1           # Django 6.1 on Python 3.13

Each session creates its own virtualenv with the exact versions of
requirements-dev.txt but its Django, installs this checkout and runs the tests:
the whole suite and the demo's on the main combination (as ``make test`` does
in .venv), the quick files and the demo's on the others (``make test`` runs
those two sessions after the whole suite). Extra arguments go to pytest:
``nox -s django-6.0 -- -x tests/test_views.py``.
"""
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

#: Test files left out of the quick run, so that it takes under 2 minutes
#: with its virtualenv: each starts many live servers, hostile clients,
#: hundreds of connections or Redis outages and waits on their timeouts
#: (test_security.py alone takes 2.5 minutes), and what they exercise is
#: python-socketio, gevent and Redis rather than Django. The quick run keeps
#: the core over both transports (test_server.py), runserver_socketio and
#: gunicorn, the checks, the test client, the package and the demo.
SLOW_FILES = [
    "tests/test_browser.py",
    "tests/test_demo_browser.py",
    "tests/test_fuzz.py",
    "tests/test_limits.py",
    "tests/test_live_browser.py",
    "tests/test_outages.py",
    "tests/test_recovery.py",
    "tests/test_scaleout.py",
    "tests/test_security.py",
    "tests/test_slow_consumers.py",
    "tests/test_teardown.py",
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


def add_session(series, python, django, whole):
    def tests(session):
        session.install("-r", requirements_with(django, session.create_tmp()))
        # setuptools is pinned in requirements-dev.txt: no index needed to build.
        session.install("--no-build-isolation", "--no-deps", "-e", ".")
        selection = session.posargs or ([] if whole else [f"--ignore={path}" for path in SLOW_FILES])
        session.run("python", "-m", "pytest", *selection)
        if not session.posargs:
            session.chdir("demo")
            session.run("python", "-m", "pytest")

    scope = "the whole suite" if whole else "the quick tests"
    tests.__doc__ = f"Django {django} on Python {python}: {scope} and the demo's."
    nox.session(name=f"django-{series}", python=find_python(python))(tests)


for series, (python, django, whole) in COMBINATIONS.items():
    add_session(series, python, django, whole)
