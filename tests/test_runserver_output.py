"""What ``runserver_socketio`` prints, and what ``ps`` shows of it, in a project as ``startproject`` makes it."""
import os
import re
import time

import pytest
import requests

from socketio_views.testing import LiveServer

from .waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)

CHANNELS_MODULE = os.path.join(os.path.dirname(__file__), "testapp", "channels.py")


@pytest.fixture
def test_db_env(django_db_setup):
    """Environment that points a server started with the autoreloader at the test database."""
    from django.db import connection

    return {"SOCKETIO_VIEWS_TEST_DB": connection.settings_dict["NAME"]}


@pytest.fixture
def debug_server(test_db_env):
    """runserver_socketio with its autoreloader, DEBUG on and Django's default LOGGING (tests/settings_debug.py)."""
    with LiveServer(settings_module="tests.settings_debug", env=test_db_env, reload=True) as server:
        yield server


def matching(lines, pattern):
    return [line for line in lines if re.search(pattern, line)]


def test_django_lines_are_printed_once(debug_server):
    """With DEBUG on and Django's default LOGGING, a 404's warning and the autoreloader's line print once each."""
    mark = debug_server.mark()
    assert requests.get(debug_server.url + "/nowhere/", timeout=5).status_code == 404
    debug_server.wait_for_output(r"Not Found: /nowhere/", start=mark)
    time.sleep(0.5)  # a second copy would follow at once
    assert len(matching(debug_server.lines_since(mark), r"Not Found: /nowhere/")) == 1, debug_server.log()

    time.sleep(1.5)  # let the reloader take its first snapshot of mtimes
    mark = debug_server.mark()
    os.utime(CHANNELS_MODULE)
    wait_until(lambda: debug_server.banners >= 2, timeout=20, interval=0.1, message=debug_server.log)
    assert len(matching(debug_server.lines_since(mark), r"channels\.py changed, reloading")) == 1, debug_server.log()
