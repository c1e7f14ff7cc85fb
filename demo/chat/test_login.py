"""The demo's login limit (``CHAT_LOGIN_RATE``): over a real server from several loopback addresses, and turned off."""
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import requests
from django.test import SimpleTestCase, TestCase, override_settings

from socketio_views.testing import LiveServer


class FromAddress(requests.adapters.HTTPAdapter):
    """Open connections from another loopback address (127.0.0.2 and up reach a server on 127.0.0.1)."""

    def __init__(self, address):
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, source_address=(self.address, 0), **kwargs)


class LoginLimitTests(SimpleTestCase):
    """The login page over a real server (``runserver_socketio``), 3 attempts a minute per address and per username."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        folder = cls.enterClassContext(tempfile.TemporaryDirectory())
        env = {"DEMO_DATABASE": os.path.join(folder, "db.sqlite3"), "DEMO_LOGIN_RATE": "3/m"}
        demo = Path(__file__).resolve().parent.parent
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=demo, env={**os.environ, **env}, check=True)
        # reload: the server uses the database its settings name (a test database in memory cannot be shared).
        cls.server = LiveServer(settings_module="demo.settings", env=env, reload=True).start()
        cls.addClassCleanup(cls.server.stop)

    def log_in(self, address, username, password="wrong"):
        with requests.Session() as http:
            http.mount("http://", FromAddress(address))
            http.get(f"{self.server.url}/login/", timeout=10)
            data = {"username": username, "password": password, "csrfmiddlewaretoken": http.cookies["csrftoken"]}
            return http.post(f"{self.server.url}/login/", data=data, allow_redirects=False, timeout=30)

    def assertRefused(self, response):
        self.assertEqual(429, response.status_code)
        wait = int(response.headers["Retry-After"])
        self.assertTrue(0 < wait <= 61, wait)
        self.assertEqual(f"Too many attempts, try again in {wait} s.\n", response.text)

    def test_a_username_gets_three_attempts_a_minute_from_any_address(self):
        """bob's fourth attempt is refused (429, Retry-After), from a fresh address too; alice still logs in from there."""
        statuses = [self.log_in(f"127.0.0.{n}", "bob").status_code for n in (2, 3, 4)]
        self.assertEqual([200, 200, 200], statuses)  # the form again, with its error
        self.assertRefused(self.log_in("127.0.0.5", "BOB"))
        self.assertEqual(302, self.log_in("127.0.0.5", "alice", "demo").status_code)

    def test_an_address_gets_three_attempts_a_minute_whatever_the_username(self):
        """Past three attempts from 127.0.0.6 under three names, even alice's right password is refused there; refused, they spend none of alice's attempts elsewhere."""
        statuses = [self.log_in("127.0.0.6", name).status_code for name in ("carol", "dave", "erin")]
        self.assertEqual([200, 200, 200], statuses)
        for _ in range(3):
            self.assertRefused(self.log_in("127.0.0.6", "alice", "demo"))
        self.assertEqual(302, self.log_in("127.0.0.7", "alice", "demo").status_code)


class LoginLimitOffTests(TestCase):
    @override_settings(CHAT_LOGIN_RATE=None)
    def test_the_login_limit_can_be_turned_off(self):
        """With CHAT_LOGIN_RATE = None (DEMO_LOGIN_RATE=off), every attempt is checked: the fourth wrong one gets the form, the fifth right one logs in."""
        statuses = [self.client.post("/login/", {"username": "bob", "password": "wrong"}).status_code for _ in range(4)]
        statuses.append(self.client.post("/login/", {"username": "bob", "password": "demo"}).status_code)
        self.assertEqual([200, 200, 200, 200, 302], statuses)
