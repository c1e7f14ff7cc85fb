"""The Socket.IO Admin UI (socketio_views.admin_ui): namespace /admin admits active staff users of the Django
session only, from allowed origins."""
import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client

from socketio_views.testing import LiveServer

from .test_identity import log_out
from .waiting import wait_until
from .wire import WireClient, session_cookie

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def admin_ui_server(django_db_setup, django_db_blocker):
    """runserver_socketio with ADMIN_UI on (tests/settings_operations.py), fresh for this module."""
    server = LiveServer(settings_module="tests.settings_operations").start()
    yield server
    server.stop()


def staff_cookie(username):
    """A ``Cookie`` header value with a logged-in session of a new staff user."""
    client = Client()
    client.force_login(User.objects.create_user(username, is_staff=True))
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


@pytest.mark.parametrize(
    "cookie, code",
    [(None, "login_required"), ("not-staff", "permission_denied")],
    ids=["anonymous", "not-staff"],
)
def test_admin_namespace_refuses_without_a_staff_session(admin_ui_server, cookie, code):
    """Without a session, or with a non-staff user's, /admin is refused with connect_error and its code."""
    client = WireClient(admin_ui_server.url)
    headers = {"Cookie": session_cookie(cookie)} if cookie else None
    try:
        refusal = client.refused("admin", headers=headers)
    finally:
        client.close()
    assert code == refusal["data"]["code"]
    assert "Admin UI" in refusal["message"]


def test_admin_namespace_accepts_a_staff_session(admin_ui_server, transport):
    """A staff user's session cookie opens /admin, which receives the Admin UI's config and server statistics."""
    client = WireClient(admin_ui_server.url, transport=transport)
    try:
        client.connect("admin", headers={"Cookie": staff_cookie(f"staff-{transport}")})
        config = client.wait_for("admin", "config")[0]
        assert "AGGREGATED_EVENTS" in config["supportedFeatures"]
        assert "EMIT" not in config["supportedFeatures"]  # read-only by default
        stats = client.wait_for("admin", "server_stats", timeout=5)[0]
        assert stats["clientsCount"] >= 1
    finally:
        client.close()


def test_admin_namespace_checks_the_origin(admin_ui_server):
    """A staff session from a foreign page is refused (origin_not_allowed); an origin of allowed_origins is not."""
    stranger = WireClient(admin_ui_server.url)
    try:
        refusal = stranger.refused("admin", headers={"Cookie": staff_cookie("staff-x"), "Origin": "https://evil.example"})
    finally:
        stranger.close()
    assert "origin_not_allowed" == refusal["data"]["code"]
    ui = WireClient(admin_ui_server.url)
    try:
        ui.connect("admin", headers={"Cookie": staff_cookie("staff-y"), "Origin": "https://admin.socket.io"})
        assert ui.wait_for("admin", "config")
    finally:
        ui.close()


def test_logging_out_closes_the_admin_namespace(admin_ui_server):
    """When the staff user logs out, the open Admin UI gets logged_out and its namespace closes."""
    cookie = staff_cookie("staff-leaving")
    client = WireClient(admin_ui_server.url)
    try:
        client.connect("admin", headers={"Cookie": cookie})
        client.wait_for("admin", "config")
        log_out(admin_ui_server.url, cookie)
        assert "logged_out" == client.wait_for("admin", "error")[0]["code"]
        wait_until(lambda: "admin" in client.disconnects, timeout=5, message=lambda: f"still open: {client.events[-3:]}")
    finally:
        client.close()
