"""
gevent monkey-patching, applied before Django is imported.

Patching must precede the imports it affects: Django creates its per-thread
database connection storage when ``django.db`` is imported, and a storage
created before patching is shared by every greenlet. So:

* ``runserver_socketio`` restarts its own process through :func:`reexec_patched`,
  which patches first and then runs the same command line;
* gunicorn's gevent workers patch before they import the project's ``wsgi.py``;
* a custom entry point calls :func:`patch` before it imports anything else::

      from socketio_views.monkey import patch
      patch()

psycopg 3 chooses how it waits for PostgreSQL when it is imported: imported
after patching, it polls through gevent and a slow query holds only its own
greenlet; imported before, it waits in C and holds the whole process (the
``socketio_views.W020`` system check says so, see :func:`psycopg_blocks`).
"""
import json
import os
import sys

from gevent import monkey

#: Run by ``python -c``: patch, then run the original script or module as ``__main__``.
BOOTSTRAP = """\
import os, runpy, sys
from gevent import monkey
monkey.patch_all()
kind, target = sys.argv[1], sys.argv[2]
if kind == "module":
    sys.argv = [target] + sys.argv[3:]
    runpy.run_module(target, run_name="__main__", alter_sys=True)
else:
    sys.argv = sys.argv[2:]
    sys.path[0] = os.path.dirname(os.path.abspath(target))
    runpy.run_path(target, run_name="__main__")
"""


#: The environment variable through which :func:`reexec_patched` hands the
#: command line it replaces to the new process (see :func:`original_command_line`).
COMMAND_LINE_ENV = "SOCKETIO_VIEWS_COMMAND_LINE"


def patch():
    """Patch the standard library for gevent, unless it is already patched."""
    if not is_patched():
        monkey.patch_all()


def is_patched():
    """Return whether the standard library is patched for gevent."""
    return monkey.is_module_patched("socket")


def psycopg_blocks():
    """Return whether psycopg waits for PostgreSQL in C, blocking every greenlet, in this patched process.

    psycopg 3 picks its wait function when ``psycopg.waiting`` is imported:
    its C ``wait_c`` unless gevent has patched ``select`` by then. Setting the
    environment variable ``PSYCOPG_WAIT_FUNC=wait_poll`` makes it choose the
    cooperative ``wait_poll`` whatever the order.
    """
    waiting = sys.modules.get("psycopg.waiting")
    if waiting is None or not is_patched():
        return False
    return waiting.wait is getattr(waiting, "wait_c", None)


def reexec_patched(argv):
    """Replace this process with one that patches first, then runs ``argv`` the same way.

    ``argv`` is the command line as ``sys.argv`` holds it. Works for
    ``python manage.py ...``, ``django-admin ...`` and ``python -m django ...``.
    """
    spec = getattr(sys.modules["__main__"], "__spec__", None)
    if spec is not None:
        name = spec.name
        if name == "__main__" or name.endswith(".__main__"):
            name = spec.parent
        target = ["module", name]
    else:
        target = ["path", argv[0]]
    warnings = [f"-W{option}" for option in sys.warnoptions]
    args = [sys.executable, *warnings, "-c", BOOTSTRAP, *target, *argv[1:]]
    os.environ[COMMAND_LINE_ENV] = json.dumps(sys.orig_argv)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, args)


def original_command_line():
    """The command line (a list, as ``sys.orig_argv``) that :func:`reexec_patched` replaced, or ``None``.

    ``ps`` shows the new process as ``python -c <bootstrap> ...``; the
    command line it replaced says what the process is. It is read once: the
    environment variable is removed, so a child process does not inherit it.
    """
    value = os.environ.pop(COMMAND_LINE_ENV, None)
    return json.loads(value) if value else None
