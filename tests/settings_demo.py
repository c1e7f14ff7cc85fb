"""The demo's settings (demo/demo/settings.py) with a one-second drain, for the live demo servers of tests/demo.py.

The tests stop and restart the demo: with the default ``DRAIN_WINDOW`` of 10 s each
stop waited out the whole window (and the 1 s ``DRAIN_NOTICE``) before the process
exited. The clients still get the drain's Engine.IO CLOSE and are refused while it lasts.
"""
from demo.settings import *  # noqa: F403
from demo.settings import SOCKETIO_VIEWS

SOCKETIO_VIEWS = {**SOCKETIO_VIEWS, "DRAIN_WINDOW": 1, "DRAIN_NOTICE": 0}
