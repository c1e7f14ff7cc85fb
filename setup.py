import shutil
import subprocess
from pathlib import Path

from setuptools import find_namespace_packages, setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).parent
VENDOR = HERE / "socketio_views" / "static" / "socketio_views" / "vendor"
CLIENT_FILES = ("socket.io.min.js", "socket.io.min.js.map")


class BuildPyWithBrowserClient(build_py):
    """Bring the official socket.io-client (pinned in package-lock.json) into the static files."""

    def run(self):
        if not (VENDOR / CLIENT_FILES[0]).exists():
            if shutil.which("npm") is None:
                raise SystemExit(
                    "Building socketio_views needs npm to fetch socket.io-client "
                    "(or run `make static` first on a machine that has it)."
                )
            subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=HERE, check=True)
            VENDOR.mkdir(parents=True, exist_ok=True)
            for name in CLIENT_FILES:
                shutil.copy(HERE / "node_modules" / "socket.io-client" / "dist" / name, VENDOR / name)
        super().run()


setup(
    name="socketio-views",
    version="0.1.0",
    description="Class-based real-time channels for Django over Socket.IO",
    long_description=(HERE / "README.rst").read_text(encoding="utf-8"),
    long_description_content_type="text/x-rst",
    license="BSD-3-Clause",
    packages=find_namespace_packages(include=["socketio_views", "socketio_views.*"]),
    include_package_data=True,
    python_requires=">=3.11",
    install_requires=[
        "Django>=5.2,<6.0",
        "python-socketio>=5.18.1,<6",
        "python-engineio>=4.15.1,<5",
        "gevent>=24.2",
        "gevent-websocket>=0.10.1",
        "attrs>=23.1",
        "cattrs>=24.1",
        "limits>=4.0",
    ],
    extras_require={"redis": ["redis>=5"]},
    cmdclass={"build_py": BuildPyWithBrowserClient},
    entry_points={"pytest11": ["socketio_views = socketio_views.testing.pytest_plugin"]},
    classifiers=[
        "Framework :: Django",
        "Framework :: Django :: 5.2",
        "Programming Language :: Python :: 3",
        "Programming Language :: Python :: 3.11",
    ],
)
