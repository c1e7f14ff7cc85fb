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
