"""The release: ``python -m build`` makes an sdist and a wheel that carry the browser client, so pip users need no Node.js.

The packages are built from a copy of this checkout (its tracked and
unignored files, and the browser client that ``make static`` vendored) with
node and npm off ``PATH``, then installed into fresh virtualenvs that see no
node or npm either. To stay fast and need no package index, the builds and
installs use this virtualenv's setuptools, and the fresh virtualenvs borrow
its packages (Django and the other dependencies) through a ``.pth`` line
placed after their own site-packages; the package itself is installed from
the built file, and the checks prove it is imported from there. The wheel
with its dependencies resolved from the index, on every supported Django and
Python pair, is the job of noxfile.py's ``wheel-*`` sessions (``make test``
runs them).
"""
import ast
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import venv
import zipfile
from email.parser import HeaderParser
from pathlib import Path

import pytest
import trove_classifiers
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

import socketio_views

from .ci import require

ROOT = Path(__file__).resolve().parent.parent
VENDOR = "socketio_views/static/socketio_views/vendor"
CLIENT_FILES = [f"{VENDOR}/socket.io.min.js", f"{VENDOR}/socket.io.min.js.map", f"{VENDOR}/socket.io.LICENSE"]
PACKAGE_FILES = [
    *CLIENT_FILES,
    "socketio_views/__init__.py",
    "socketio_views/static/socketio_views/socketio_views.js",
    "socketio_views/templatetags/socketio_tags.py",
    "socketio_views/management/commands/runserver_socketio.py",
    "socketio_views/testing/pytest_plugin.py",
    # The live channels page: its template, script, styles and the migration of its permissions.
    "socketio_views/templates/admin/socketio_views/live_channels.html",
    "socketio_views/static/socketio_views/live.js",
    "socketio_views/static/socketio_views/live.css",
    "socketio_views/migrations/0001_initial.py",
    "socketio_views/migrations/0002_history.py",
]
CLIENT_VERSION = json.loads((ROOT / "package.json").read_text())["dependencies"]["socket.io-client"]


def without_node(path):
    """``path`` (a ``PATH`` value) without the folders that hold node or npm."""
    kept = [
        folder
        for folder in path.split(os.pathsep)
        if folder and not any(os.path.exists(os.path.join(folder, name)) for name in ("node", "npm"))
    ]
    return os.pathsep.join(kept)


def environment():
    """The environment of a build, an install or a check: no node or npm, no ``PYTHONPATH`` leading to this checkout."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    env["PATH"] = without_node(env.get("PATH", os.defpath))
    assert (None, None) == (shutil.which("node", path=env["PATH"]), shutil.which("npm", path=env["PATH"]))
    return env


def copy_checkout(target, with_client=True):
    """Copy what a git checkout of this project holds to ``target``, with the vendored browser client or without it."""
    require(shutil.which("git"), "git is not installed")
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, check=True, timeout=60,
    ).stdout.decode().split("\0")
    names = [name for name in listed if name and (ROOT / name).is_file()]
    if with_client:
        missing = [name for name in CLIENT_FILES if not (ROOT / name).is_file()]
        assert not missing, f"run `make static` first: {missing} are missing"
        names += CLIENT_FILES
    for name in names:
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target / name)
    return target


def build(source, outdir, *what):
    """Run ``python -m build`` on ``source`` (``what``: ``--sdist``, ``--wheel`` or nothing for both, the wheel from the sdist)."""
    return subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", *what, "--outdir", str(outdir), str(source)],
        cwd=source, env=environment(), capture_output=True, text=True, timeout=300,
    )


def nox_constant(name):
    """The value of noxfile.py's module-level constant ``name``, read without importing nox."""
    tree = ast.parse((ROOT / "noxfile.py").read_text(encoding="utf-8"))
    [value] = [
        node.value
        for node in tree.body
        if isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == [name]
    ]
    return ast.literal_eval(value)


def nox_combinations():
    """``COMBINATIONS`` of noxfile.py."""
    return nox_constant("COMBINATIONS")


def test_every_test_file_is_in_the_quick_run_or_on_the_main_combination_only():
    """Each tests/test_*.py is in exactly one of noxfile.py's QUICK_FILES and MAIN_ONLY_FILES, each listed once.

    A new test file must be classified: run from the wheel on every supported pair too (it meets
    Django's APIs) or on the main combination only.
    """
    quick, main_only = nox_constant("QUICK_FILES"), nox_constant("MAIN_ONLY_FILES")
    files = sorted(path.relative_to(ROOT).as_posix() for path in (ROOT / "tests").glob("test_*.py"))
    unclassified = sorted(set(files) - set(quick) - set(main_only))
    assert [] == unclassified, "add each to noxfile.py's QUICK_FILES or MAIN_ONLY_FILES"
    assert [] == sorted(set(quick + main_only) - set(files)), "noxfile.py lists files that do not exist"
    assert [] == sorted(set(quick) & set(main_only))
    assert sorted(set(quick)) == quick and sorted(set(main_only)) == main_only


@pytest.fixture(scope="module")
def dists(tmp_path_factory):
    """The sdist and the wheel ``python -m build`` makes from a copy of this checkout, without node or npm."""
    source = copy_checkout(tmp_path_factory.mktemp("checkout"))
    outdir = tmp_path_factory.mktemp("dist")
    result = build(source, outdir)
    assert 0 == result.returncode, result.stdout + result.stderr
    [sdist] = outdir.glob("*.tar.gz")
    [wheel] = outdir.glob("*.whl")
    return {"sdist": sdist, "wheel": wheel}


def wheel_metadata(wheel):
    with zipfile.ZipFile(wheel) as archive:
        [name] = [name for name in archive.namelist() if name.endswith(".dist-info/METADATA")]
        return HeaderParser().parsestr(archive.read(name).decode())


def test_the_sdist_carries_the_browser_client_and_no_npm_files(dists):
    """The sdist has the package with its browser client, the licences and the changelog, and nothing for npm."""
    with tarfile.open(dists["sdist"]) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    expected = {*PACKAGE_FILES, "LICENSE", "CHANGES.rst", "README.rst", "setup.py", "pyproject.toml"}
    assert set() == expected - names
    assert [] == sorted(name for name in names if name.startswith(("tests/", "node_modules/")) or name.endswith(".json"))


def test_the_wheel_carries_the_browser_client_and_both_licences(dists):
    """The wheel has the package with its browser client and socket.io-client's licence, and the project's licence."""
    names = set(zipfile.ZipFile(dists["wheel"]).namelist())
    dist_info = f"socketio_views-{socketio_views.__version__}.dist-info"
    expected = {*PACKAGE_FILES, f"{dist_info}/licenses/LICENSE"}
    assert set() == expected - names


def test_the_metadata_says_what_is_tested(dists):
    """Version, licence, Python and Django requirements and (valid) classifiers match __version__ and noxfile.py's combinations."""
    metadata = wheel_metadata(dists["wheel"])
    combinations = nox_combinations()
    classifiers = metadata.get_all("Classifier")
    assert socketio_views.__version__ == metadata["Version"]
    assert "BSD-3-Clause AND MIT" == metadata["License-Expression"]
    assert set(combinations) == {c.rsplit(" :: ", 1)[1] for c in classifiers if c.startswith("Framework :: Django :: ")}
    assert set(combinations) == set(nox_constant("SUPPORTED"))
    tested_pythons = {python for pythons in nox_constant("SUPPORTED").values() for python in pythons}
    assert tested_pythons == {
        c.rsplit(" :: ", 1)[1] for c in classifiers if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)
    }
    assert [] == [classifier for classifier in classifiers if classifier not in trove_classifiers.classifiers]
    requires_python = SpecifierSet(metadata["Requires-Python"])
    assert all(python in requires_python for python in tested_pythons)
    [supported] = [r.specifier for r in map(Requirement, metadata.get_all("Requires-Dist")) if r.name == "Django"]
    assert [] == [version for _, version, _ in combinations.values() if version not in supported]
    assert "6.2" not in supported and "5.1.9" not in supported


def test_the_wheel_is_installed_on_every_pair_django_supports():
    """noxfile.py's SUPPORTED pairs every Django series with every Python of the classifiers but 3.11 for Django 6, which needs 3.12."""
    supported = nox_constant("SUPPORTED")
    pythons = sorted({python for series in supported.values() for python in series})
    expected = {
        series: [python for python in pythons if not (int(series.split(".")[0]) >= 6 and python == "3.11")]
        for series in supported
    }
    assert expected == supported
    assert ["3.11", "3.12", "3.13"] == pythons


def quick_session(series, python):
    """The nox session that runs the quick tests from the wheel on a pair (noxfile.py's wheel_scope())."""
    pinned_python, _, whole = nox_combinations()[series]
    return f"django-{series}" if python == pinned_python and not whole else f"wheel-{series}-py{python}"


def test_make_test_runs_the_quick_tests_on_every_pair():
    """The Makefile's QUICK_SESSIONS run the quick tests from the wheel on every pair of SUPPORTED, once, and its
    ``-t smoke`` run the wheel with the newest dependencies on the pairs whose quick tests use the pinned ones."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    [listed] = re.findall(r"^QUICK_SESSIONS := (.*)$", makefile, re.MULTILINE)
    pairs = [(series, python) for series, pythons in nox_constant("SUPPORTED").items() for python in pythons]
    assert sorted(quick_session(*pair) for pair in pairs) == sorted(listed.split())
    assert 7 == len(listed.split())
    assert re.search(r"^\t.*\bnox\b.* -t smoke$", makefile, re.MULTILINE)
    assert re.search(r"^\t.*\bnox\b.* --install-only -t quick$", makefile, re.MULTILINE)


def test_each_test_session_runs_on_a_supported_pair():
    """The Python of each ``django-<series>`` session is one that SUPPORTED pairs with its Django."""
    supported = nox_constant("SUPPORTED")
    assert [] == [(series, python) for series, (python, _, _) in nox_combinations().items() if python not in supported[series]]


def supported_versions_table():
    """docs/index.rst's table of supported versions: ``{(series, python): cell}``."""
    text = (ROOT / "docs" / "index.rst").read_text(encoding="utf-8")
    table = text.split("\nSupported versions\n", 1)[1].split(".. list-table::", 1)[1].split("\n\n.. ", 1)[0]
    rows = [re.findall(r"^\s*- (.+)$", row, re.MULTILINE) for row in table.split("\n   * ")[1:]]
    header, *body = rows
    pythons = [cell.removeprefix("Python ") for cell in header[1:]]
    return {(row[0].removesuffix(" LTS"), python): cell for row in body for python, cell in zip(pythons, row[1:], strict=True)}


def test_the_docs_table_of_supported_versions_is_noxfiles():
    """docs/index.rst's table names SUPPORTED's pairs, the whole suite on the main combination and the quick tests from the wheel on each."""
    supported, combinations = nox_constant("SUPPORTED"), nox_combinations()
    expected = {}
    for series in supported:
        for python in ["3.11", "3.12", "3.13"]:
            if python not in supported[series]:
                expected[series, python] = "not supported by Django"
            elif quick_session(series, python).startswith("django-"):
                expected[series, python] = "quick tests (pinned); smoke tests (newest)"
            elif combinations[series][0] == python:
                expected[series, python] = "whole suite (.venv); quick tests (newest)"
            else:
                expected[series, python] = "quick tests (newest)"
    assert expected == supported_versions_table()


def test_the_main_combination_uses_the_pinned_django():
    """noxfile.py's one whole-suite combination has requirements-dev.txt's Django (the one `make install` puts in .venv)."""
    [django] = [version for _, version, whole in nox_combinations().values() if whole]
    pins = (ROOT / "requirements-dev.txt").read_text(encoding="utf-8")
    assert re.search(rf"^Django=={re.escape(django)}$", pins, re.MULTILINE)


def test_twine_check_passes(dists):
    """``twine check --strict`` accepts both files (the README renders on PyPI)."""
    result = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", str(dists["sdist"]), str(dists["wheel"])],
        env=environment(), capture_output=True, text=True, timeout=120,
    )
    assert 0 == result.returncode, result.stdout + result.stderr
    assert 2 == result.stdout.count("PASSED"), result.stdout


def test_the_version_is_written_once():
    """setup.py reads __version__, and CHANGES.rst's newest release is that version."""
    assert not re.search(r"version\s*=\s*[\"']", (ROOT / "setup.py").read_text(encoding="utf-8"))
    changes = (ROOT / "CHANGES.rst").read_text(encoding="utf-8")
    [newest] = re.findall(r"^(\d+\.\d+\.\d+)\b.*\n=+$", changes, re.MULTILINE)[:1]
    assert socketio_views.__version__ == newest


CHECK_INSTALLED = r"""
import json

import django
from django.conf import settings

urlpatterns = []
settings.configure(
    DEBUG=True,
    INSTALLED_APPS=["django.contrib.staticfiles", "socketio_views"],
    STATIC_URL="/static/",
    ROOT_URLCONF=__name__,
    TEMPLATES=[{"BACKEND": "django.template.backends.django.DjangoTemplates"}],
)
django.setup()

import socketio_views
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.views import serve
from django.template import engines
from django.test import RequestFactory

name = "socketio_views/vendor/socket.io.min.js"
response = serve(RequestFactory().get("/static/" + name), name)
print(json.dumps({
    "package": socketio_views.__file__,
    "found": finders.find(name),
    "status": response.status_code,
    "served": b"".join(response.streaming_content)[:40].decode(),
    "tag": engines["django"].from_string("{% load socketio_tags %}{% socketio_scripts %}").render(),
}))
"""


def fresh_venv(folder):
    """A virtualenv without pip, that sees this one's packages after its own site-packages; return its Python."""
    venv.create(folder, with_pip=False)
    python = folder / "bin" / "python"
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True, timeout=60, env=environment(),
    ).stdout.strip()
    Path(purelib, "borrowed_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return python


@pytest.mark.parametrize("kind", ["sdist", "wheel"])
def test_a_fresh_venv_without_npm_installs_it_and_serves_the_browser_client(dists, kind, tmp_path):
    """pip installs the sdist (building its wheel) or the wheel without node or npm, and the installed package serves socket.io.min.js."""
    python = fresh_venv(tmp_path / "venv")
    install = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-index", "--no-deps",
         "--no-build-isolation", "--ignore-installed", "--no-cache-dir", "-q", str(dists[kind])],
        cwd=tmp_path, env=environment(), capture_output=True, text=True, timeout=300,
    )
    assert 0 == install.returncode, install.stdout + install.stderr

    check = subprocess.run(
        [python, "-c", CHECK_INSTALLED], cwd=tmp_path, env=environment(), capture_output=True, text=True, timeout=60
    )
    assert 0 == check.returncode, check.stdout + check.stderr
    found = json.loads(check.stdout)
    venv_dir = (tmp_path / "venv").resolve()
    assert Path(found["package"]).resolve().is_relative_to(venv_dir), found["package"]
    assert Path(found["found"]).resolve().is_relative_to(venv_dir), found["found"]
    assert Path(found["found"]).resolve() == Path(found["package"]).resolve().parent / "static" / "socketio_views/vendor/socket.io.min.js"
    assert 200 == found["status"]
    assert found["served"].startswith(f"/*!\n * Socket.IO v{CLIENT_VERSION}\n"), found["served"]
    assert '<script src="/static/socketio_views/vendor/socket.io.min.js"></script>' in found["tag"]


@pytest.mark.parametrize("what", ["--sdist", "--wheel"])
def test_a_checkout_without_the_browser_client_or_npm_does_not_build(what, tmp_path):
    """Without the vendored client and without npm, building a checkout stops with what to do, and makes no package."""
    source = copy_checkout(tmp_path / "checkout", with_client=False)
    result = build(source, tmp_path / "dist", what)
    assert 0 != result.returncode
    missing = ", ".join(CLIENT_FILES)
    assert (
        f"error: building socketio_views from a git checkout needs the browser client ({missing}), which npm "
        "fetches from the npm registry: install Node.js and npm, or run `make static` where they are installed, "
        "then build again."
    ) in result.stdout + result.stderr
    assert [] == list((tmp_path / "dist").glob("socketio_views-*"))


def test_a_source_tree_without_the_browser_client_or_package_lock_does_not_build(dists, tmp_path):
    """An unpacked sdist whose browser client was removed does not try npm: it stops and says where to get a package."""
    with tarfile.open(dists["sdist"]) as archive:
        archive.extractall(tmp_path, filter="data")
    [source] = tmp_path.glob("socketio_views-*")
    for name in CLIENT_FILES:
        (source / name).unlink()
    result = build(source, tmp_path / "dist", "--wheel")
    assert 0 != result.returncode
    assert (
        f"error: this source tree of socketio_views lacks the browser client ({', '.join(CLIENT_FILES)}) "
        "and has no package-lock.json to fetch it with npm."
    ) in result.stdout + result.stderr
    assert [] == list((tmp_path / "dist").glob("socketio_views-*"))
