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
    "sphinx.ext.graphviz",
    "sphinx.ext.intersphinx",
    "sphinx.ext.viewcode",
    "sphinx_copybutton",
    "channels_schema_directive",
    "benchfigures",
]

# Intersphinx inventories come from local packages, not the network (see
# inventories.py); `make docs` installs what they are made from. In CI a
# missing one is an error, elsewhere the build goes on without its links.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import inventories  # noqa: E402

intersphinx_mapping, _missing = inventories.intersphinx_mapping()
if _missing:
    _message = (
        f"No intersphinx inventory for {', '.join(_missing)}: run `make docs-packages` "
        "(Debian's python3-doc and python-django-doc) and make sure pip reaches PyPI."
    )
    if os.environ.get("CI", "").strip().lower() not in ("", "0", "false"):
        raise RuntimeError(_message)
    print(_message, file=sys.stderr)
intersphinx_timeout = 5

root_doc = "index"
exclude_patterns = ["_build"]
templates_path = []

autodoc_member_order = "bysource"
autodoc_typehints = "none"

html_theme = "furo"
html_title = f"socketio_views {release}"
html_static_path = ["_static"]
html_css_files = ["tables.css"]

# Copy commands without their prompts, and console blocks without their output.
copybutton_prompt_text = r"\$ |>>> |\.\.\. "
copybutton_prompt_is_regexp = True
copybutton_only_copy_prompt_lines = True

graphviz_output_format = "svg"


def setup(app):
    # Django's own cross-reference type, so :setting:`CSRF_TRUSTED_ORIGINS`
    # links to Django's documentation through intersphinx.
    app.add_crossref_type("setting", "setting", indextemplate="pair: %s; setting")
