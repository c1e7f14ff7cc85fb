"""
Intersphinx inventories of Python, Django and python-socketio, made locally.

The documentation builds without the network, so the inventories cannot be
downloaded from the three sites. They are made from packages instead:

* Python: Debian's ``python3-doc`` (its ``objects.inv``, used as it is);
* Django: Debian's ``python-django-doc``, built with Sphinx's ``html``
  builder (``ref/urls.html``), rewritten for docs.djangoproject.com's
  addresses (``ref/urls/``);
* python-socketio: its own documentation, built from its sdist on PyPI
  (the version installed here), where its ``objects.inv`` comes from.

``make docs`` installs the Debian packages (``make docs-packages``). Run as a
script, this module makes the inventories into ``docs/_build/inventories``;
``conf.py`` makes those that are missing.
"""
import glob
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zlib
from importlib import metadata

HERE = os.path.dirname(os.path.abspath(__file__))
INVENTORY_DIR = os.path.join(HERE, "_build", "inventories")

PYTHON_URL = "https://docs.python.org/3/"
DJANGO_URL = "https://docs.djangoproject.com/en/5.2/"
SOCKETIO_URL = "https://python-socketio.readthedocs.io/en/latest/"

DJANGO_DEBIAN_INVENTORY = "/usr/share/doc/python-django-doc/html/objects.inv"


def python_inventory():
    """Debian's inventory of the Python documentation, or ``None``."""
    found = sorted(glob.glob("/usr/share/doc/python3*/html/objects.inv"))
    return found[-1] if found else None


def read_inventory(path):
    """The header lines and the entry lines of a version 2 inventory."""
    with open(path, "rb") as stream:
        header = [stream.readline() for _ in range(4)]
        body = zlib.decompress(stream.read()).decode()
    return header, body.splitlines()


def django_inventory(directory=INVENTORY_DIR):
    """Debian's Django inventory with docs.djangoproject.com's ``dir/`` addresses, or ``None``."""
    target = os.path.join(directory, "django.inv")
    if os.path.exists(target):
        return target
    if not os.path.exists(DJANGO_DEBIAN_INVENTORY):
        return None
    header, entries = read_inventory(DJANGO_DEBIAN_INVENTORY)
    rewritten = []
    for entry in entries:
        name, domain_role, priority, uri, display = entry.split(" ", 4)
        page, hash_, anchor = uri.partition("#")
        if page.endswith(".html"):
            page = page[: -len(".html")]
            page = "" if page == "index" else (page[: -len("index")] if page.endswith("/index") else page + "/")
        rewritten.append(" ".join((name, domain_role, priority, page + hash_ + anchor, display)))
    os.makedirs(directory, exist_ok=True)
    with open(target, "wb") as stream:
        stream.writelines(header)
        stream.write(zlib.compress("\n".join(rewritten).encode() + b"\n"))
    return target


def socketio_inventory(directory=INVENTORY_DIR):
    """python-socketio's inventory, built from its documentation in its sdist, or ``None``."""
    target = os.path.join(directory, "python-socketio.inv")
    if os.path.exists(target):
        return target
    version = metadata.version("python-socketio")
    with tempfile.TemporaryDirectory() as work:
        download = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
             "--quiet", "--dest", work, f"python-socketio=={version}"],
            capture_output=True, text=True,
        )
        archives = glob.glob(os.path.join(work, "*.tar.gz"))
        if download.returncode != 0 or not archives:
            return None
        with tarfile.open(archives[0]) as archive:
            archive.extractall(work, filter="data")
        source = glob.glob(os.path.join(work, "python_socketio-*", "docs"))[0]
        build = subprocess.run(
            [sys.executable, "-m", "sphinx", "-b", "html", "-q", "-D", "html_theme=basic",
             source, os.path.join(work, "html")],
            capture_output=True, text=True,
        )
        built = os.path.join(work, "html", "objects.inv")
        if build.returncode != 0 or not os.path.exists(built):
            return None
        os.makedirs(directory, exist_ok=True)
        shutil.copy(built, target)
    return target


def intersphinx_mapping(directory=INVENTORY_DIR):
    """The mapping for ``conf.py``, and the names of the inventories that could not be made."""
    mapping, missing = {}, []
    for name, url, make in (
        ("python", PYTHON_URL, lambda: python_inventory()),
        ("django", DJANGO_URL, lambda: django_inventory(directory)),
        ("socketio", SOCKETIO_URL, lambda: socketio_inventory(directory)),
    ):
        path = make()
        if path:
            mapping[name] = (url, path)
        else:
            missing.append(name)
    return mapping, missing


if __name__ == "__main__":
    mapping, missing = intersphinx_mapping()
    for name, (url, path) in mapping.items():
        print(f"{name}: {path} -> {url}")
    if missing:
        sys.exit(f"could not make the inventories of {', '.join(missing)} (see docs/inventories.py)")
