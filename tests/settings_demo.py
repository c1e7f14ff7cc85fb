"""The demo's settings (demo/demo/settings.py) with a one-second drain, room creation and logins unthrottled and message budgets per subscription, for the live demo servers of tests/demo.py.

The tests stop and restart the demo: with the default ``DRAIN_WINDOW`` of 10 s each
stop waited out the whole window (and the 1 s ``DRAIN_NOTICE``) before the process
exited. The clients still get the drain's Engine.IO CLOSE and are refused while it lasts.
"""
import os

from demo.settings import *  # noqa: F403
from demo.settings import SOCKETIO_VIEWS

SOCKETIO_VIEWS = {
    **SOCKETIO_VIEWS,
    "DRAIN_WINDOW": 1,
    "DRAIN_NOTICE": 0,
    # DEMO_PRESENCE_LIST_LIMIT: a room of a few tabs is told counts, not lists (tests/test_demo_browser.py).
    "PRESENCE_LIST_LIMIT": int(os.environ.get("DEMO_PRESENCE_LIST_LIMIT", "100")),
}
# Every browser test opens rooms of its own from 127.0.0.1: past the demo's 5 new rooms
# per 10 minutes and address, the later ones would be refused (demo/chat/tests.py tests that limit).
CHAT_ROOM_CREATION_RATE = "1000/m"
# and past the demo's 10 login attempts a minute per address, the later logins.
CHAT_LOGIN_RATE = "1000/m"
# And every test's visitors would share one budget of 3 messages a second (bursts of 6) instead of one per
# subscription; demo/chat/tests.py tests the demo's own "user_or_ip".
CHAT_MESSAGE_RATE_SCOPE = "subscription"
