"""Packaging of socketio_views: ``python -m build`` makes the sdist and the wheel.

Both carry the official browser client, socket.io-client (the files in
``CLIENT_FILES`` under ``VENDOR``), so installing either needs no Node.js. In
a git checkout those files come from the npm registry, pinned in
package-lock.json (``make static``); a build that cannot find or fetch them
stops with a message rather than make a package without them.
"""
import re
import shutil
import subprocess
from pathlib import Path

from setuptools import find_namespace_packages, setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

HERE = Path(__file__).resolve().parent
VENDOR = Path("socketio_views", "static", "socketio_views", "vendor")
NODE_CLIENT = Path("node_modules", "socket.io-client")
# The vendored file -> where `npm ci` puts it.
CLIENT_FILES = {
    "socket.io.min.js": NODE_CLIENT / "dist" / "socket.io.min.js",
    "socket.io.min.js.map": NODE_CLIENT / "dist" / "socket.io.min.js.map",
    "socket.io.LICENSE": NODE_CLIENT / "LICENSE",
}


def read_version():
    """``__version__`` of socketio_views/__init__.py, the one place the version is written."""
    source = (HERE / "socketio_views" / "__init__.py").read_text(encoding="utf-8")
    return re.search(r'^__version__ = "([^"]+)"$', source, re.MULTILINE).group(1)


def ensure_browser_client():
    """Make sure the browser client is in the package's static files, or stop the build.

    A git checkout (it has package-lock.json) fetches a missing client with
    npm, as ``make static`` does; an sdist always has the client, so it never
    needs npm.
    """
    missing = [name for name in CLIENT_FILES if not (HERE / VENDOR / name).is_file()]
    if not missing:
        return
    wanted = ", ".join(str(VENDOR / name) for name in missing)
    if not (HERE / "package-lock.json").is_file():
        raise SystemExit(
            f"error: this source tree of socketio_views lacks the browser client ({wanted}) "
            "and has no package-lock.json to fetch it with npm. Install socketio_views from "
            "its published sdist or wheel, or build it from a git checkout."
        )
    if shutil.which("npm") is None:
        raise SystemExit(
            f"error: building socketio_views from a git checkout needs the browser client "
            f"({wanted}), which npm fetches from the npm registry: install Node.js and npm, "
            "or run `make static` where they are installed, then build again."
        )
    subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=HERE, check=True)
    (HERE / VENDOR).mkdir(parents=True, exist_ok=True)
    for name, source in CLIENT_FILES.items():
        shutil.copy(HERE / source, HERE / VENDOR / name)


class SdistWithBrowserClient(sdist):
    """An sdist that carries the browser client, so that building its wheel needs no npm."""

    def run(self):
        ensure_browser_client()
        super().run()


class BuildPyWithBrowserClient(build_py):
    """A wheel (or editable install) that carries the browser client."""

    def run(self):
        ensure_browser_client()
        super().run()


setup(
    name="socketio-views",
    version=read_version(),
    description="Class-based real-time channels for Django over Socket.IO",
    long_description=(HERE / "README.rst").read_text(encoding="utf-8"),
    long_description_content_type="text/x-rst",
    # socket.io-client is MIT-licensed; its licence lies beside it in VENDOR.
    license_expression="BSD-3-Clause AND MIT",
    license_files=["LICENSE"],
    packages=find_namespace_packages(include=["socketio_views", "socketio_views.*"]),
    include_package_data=True,
    # What the test matrix covers (noxfile.py): Django 5.2 on Python 3.11,
    # 6.0 on 3.12, 6.1 on 3.13.
    python_requires=">=3.11",
    install_requires=[
        "Django>=5.2,<6.2",
        # The tested minor series only: socketio_views.transport.engine leans on
        # their private hooks (docs/upgrading.rst; `nox -s upstream` tries the newest).
        "python-socketio>=5.18.1,<5.19",
        "python-engineio>=4.15.1,<4.16",
        "gevent>=24.2",
        "gevent-websocket>=0.10.1",
        "attrs>=23.1",
        "cattrs>=24.1",
        "limits>=4.0",
        # runserver_socketio's process title (ps shows the command, not its re-exec).
        "setproctitle>=1.3",
    ],
    # prometheus-client is optional: many sites monitor otherwise, and
    # socketio_views.metrics records nothing (at the cost of a call) without it.
    extras_require={"redis": ["redis>=5"], "metrics": ["prometheus-client>=0.20"]},
    cmdclass={"build_py": BuildPyWithBrowserClient, "sdist": SdistWithBrowserClient},
    entry_points={"pytest11": ["socketio_views = socketio_views.testing.pytest_plugin"]},
    classifiers=[
        "Development Status :: 4 - Beta",
        "Environment :: Web Environment",
        "Framework :: Django",
        "Framework :: Django :: 5.2",
        "Framework :: Django :: 6.0",
        "Framework :: Django :: 6.1",
        "Intended Audience :: Developers",
        "Operating System :: POSIX :: Linux",
        "Programming Language :: Python :: 3",
        "Programming Language :: Python :: 3 :: Only",
        "Programming Language :: Python :: 3.11",
        "Programming Language :: Python :: 3.12",
        "Programming Language :: Python :: 3.13",
        "Topic :: Internet :: WWW/HTTP",
        "Topic :: Internet :: WWW/HTTP :: Dynamic Content",
    ],
)
