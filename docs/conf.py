"""Sphinx configuration of the socketio_views documentation.

Build with ``make docs`` or, from the repository root::

    .venv/bin/sphinx-build -W --keep-going -b html -q docs docs/_build/html

The build needs no network access and no database: autodoc imports the
package with the test project's settings, which ``django.setup()`` loads
without connecting to anything.
"""
import os
import sys

# Import the package from this checkout, with Django configured before autodoc
# imports modules that use the app registry or settings.
sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))
os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"

import django  # noqa: E402

django.setup()

import socketio_views  # noqa: E402

project = "socketio_views"
author = "socketio_views contributors"
copyright = "socketio_views contributors"
release = socketio_views.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.viewcode",
]

root_doc = "index"
exclude_patterns = ["_build"]
templates_path = []

autodoc_member_order = "bysource"
autodoc_typehints = "none"

html_theme = "alabaster"
html_static_path = []
html_theme_options = {
    "description": "Class-based real-time channels for Django over Socket.IO",
    "fixed_sidebar": True,
}
