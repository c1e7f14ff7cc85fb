"""The ``PYTHONPATH`` of the processes the tests start (servers, commands, the tutorial's project)."""
import os
from pathlib import Path

import socketio_views

ROOT = Path(__file__).resolve().parent.parent


def pythonpath(*folders):
    """``folders``, then this checkout when socketio_views is imported from it, as a ``PYTHONPATH``.

    In ``.venv`` (``pip install -e .``) the checkout is the package, and a
    child process needs it on the path for the tests' own modules
    (``tests.settings``). In a nox session socketio_views is the installed
    wheel and the checkout is already on the path after site-packages (a
    ``.pth`` line, noxfile.py's ``run_tests()``); naming it here would put the
    checkout's copy of socketio_views before the wheel's, so it is left out.
    """
    from_checkout = Path(socketio_views.__file__).resolve().is_relative_to(ROOT / "socketio_views")
    return os.pathsep.join(str(folder) for folder in [*folders, *([ROOT] if from_checkout else [])])
