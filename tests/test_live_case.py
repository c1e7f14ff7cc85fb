"""LiveChannelsTestCase: a real server for a Django test class, on the test database."""
from django.contrib.auth.models import User
from django.test import Client

from socketio_views.testing import LiveChannelsTestCase

from .wire import WireClient


class LiveRoomTests(LiveChannelsTestCase):
    def test_server_sees_rows_created_by_the_test(self):
        """A user created by the test is the request.user of its session cookie on the live server."""
        user = User.objects.create_user("frank")
        browser = Client()
        browser.force_login(user)
        client = WireClient(self.live_server_url).connect(
            "rooms/live", headers={"Cookie": f"sessionid={browser.cookies['sessionid'].value}"}
        )
        try:
            self.assertEqual(client.call("rooms/live", "whoami")["user"], "frank")
        finally:
            client.close()


def test_output_positions_survive_the_lines_no_longer_kept():
    """mark()/lines_since() count every line printed, also once the kept output is full."""
    from collections import deque
    from types import SimpleNamespace

    from socketio_views.testing import LiveServer

    server = LiveServer()
    server.output = deque(maxlen=2000)  # 50,000 in use
    server.process = SimpleNamespace(stdout=iter(f"line {n}\n" for n in range(2500)))
    server._read_output()
    mark = server.mark()
    assert mark == 2500 and len(server.output) == 2000
    assert server.lines_since(mark) == []
    server.process = SimpleNamespace(stdout=iter(["one more\n"]), poll=lambda: None)
    server._read_output()
    assert server.lines_since(mark) == ["one more"]
    assert server.wait_for_output("more", timeout=1, start=mark) == "one more"
    assert server.lines_since(2499) == ["line 2499", "one more"]
