"""System checks for the SOCKETIO_VIEWS setting and the URLconf."""
import pytest
from django.core.checks import run_checks
from django.test import override_settings


def check_ids(tags=None):
    return [message.id for message in run_checks(tags=tags) if message.id.startswith("socketio_views.")]


def test_valid_configuration_passes():
    """The test project's settings produce no socketio_views messages."""
    assert check_ids() == []


@override_settings(SOCKETIO_VIEWS={"SERVER_OPTION": {}})
def test_unknown_key_is_an_error_naming_the_valid_keys():
    """A misspelled key is E001 with the valid keys in the hint."""
    [message] = [m for m in run_checks() if m.id == "socketio_views.E001"]
    assert message.msg == "SOCKETIO_VIEWS has an unknown key 'SERVER_OPTION'."
    assert "SERVER_OPTIONS" in message.hint


@override_settings(SOCKETIO_VIEWS={"SERVER_OPTIONS": [1]})
def test_server_options_must_be_a_dict():
    """SERVER_OPTIONS that is not a dict is E002."""
    assert check_ids() == ["socketio_views.E002"]


@pytest.mark.parametrize("value", [-1, "10", 1.5, True])
def test_max_recovery_sessions_must_be_a_count(value):
    """MAX_RECOVERY_SESSIONS that is not an int of 0 or more (nor None) is E005 showing what arrived."""
    with override_settings(SOCKETIO_VIEWS={"MAX_RECOVERY_SESSIONS": value}):
        [message] = [m for m in run_checks() if m.id == "socketio_views.E005"]
    assert (
        f"SOCKETIO_VIEWS['MAX_RECOVERY_SESSIONS'] must be an int of 0 or more, or None "
        f"(got {value!r} that is a {type(value).__name__})."
    ) == message.msg
    assert "For example 10000 (the default), or None for no limit." == message.hint


@pytest.mark.parametrize("value", [0, 5, None])
def test_max_recovery_sessions_may_be_any_count_or_none(value):
    """MAX_RECOVERY_SESSIONS of 0, a positive int or None passes."""
    with override_settings(SOCKETIO_VIEWS={"MAX_RECOVERY_SESSIONS": value}):
        assert check_ids() == []


def test_metrics_without_prometheus_client_is_an_error(monkeypatch):
    """METRICS True where prometheus-client cannot be imported is E040 naming the extra to install; None is no error."""
    from socketio_views import metrics

    monkeypatch.setattr(metrics, "prometheus_client", None)
    with override_settings(SOCKETIO_VIEWS={"METRICS": True}):
        [message] = [m for m in run_checks() if m.id == "socketio_views.E040"]
    assert "SOCKETIO_VIEWS['METRICS'] is True but prometheus-client is not installed." == message.msg
    assert "pip install 'socketio-views[metrics]', or set METRICS to None or False." == message.hint
    with override_settings(SOCKETIO_VIEWS={"METRICS": None}):
        assert check_ids() == []


@override_settings(ROOT_URLCONF="tests.urls_without_router")
def test_missing_router_is_a_warning():
    """A URLconf without any ChannelRouter is W001 with the include() to add."""
    [message] = [m for m in run_checks() if m.id == "socketio_views.W001"]
    assert 'include(router.urls)' in message.hint


@override_settings(ROOT_URLCONF="tests.urls_bad_patterns")
def test_channel_pattern_mistakes_are_reported():
    """A leading slash, an unclosed bracket, a name given twice and a shadowed pattern each have their check."""
    messages = {m.id: m for m in run_checks() if m.id.startswith("socketio_views.")}
    assert sorted(messages) == [
        "socketio_views.E010",
        "socketio_views.E011",
        "socketio_views.W010",
        "socketio_views.W011",
    ]
    assert messages["socketio_views.E010"].hint.startswith("Register 'rooms/<slug:room>'")
    assert "'lobby/<slug:room'" in messages["socketio_views.E011"].msg
    assert "'room' is given to '/rooms/<slug:room>' and 'things/<str:name>'" in messages["socketio_views.W010"].msg
    assert "'things/<int:number>' (RoomChannel) is shadowed by 'things/<str:name>'" in messages["socketio_views.W011"].msg


@override_settings(ROOT_URLCONF="tests.urls_two_routers")
def test_each_router_is_checked_on_its_own():
    """Routers at their own paths resolve and reverse apart: a name or pattern they share is no mistake, one router's shadowing is."""
    messages = [m for m in run_checks() if m.id.startswith("socketio_views.")]
    assert [(m.id, m.msg) for m in messages] == [
        (
            "socketio_views.W011",
            "Channel pattern 'rooms/<slug:room>' (RoomChannel) is shadowed by 'rooms/<str:room>', registered "
            "before it: a channel such as 'rooms/a' goes to the first.",
        )
    ]


def test_an_unknown_converter_names_the_registered_ones():
    """A converter typo is refused at registration with the valid converters listed."""
    import pytest
    from django.core.exceptions import ImproperlyConfigured

    from socketio_views import ChannelRouter, ChannelView

    with pytest.raises(ImproperlyConfigured, match=r"Channel pattern 'rooms/<slgu:room>' uses an unknown converter 'slgu'\. Registered converters: .*int, path, slug, str, uuid"):
        ChannelRouter().register("rooms/<slgu:room>", ChannelView)


def test_a_mounted_router_needs_the_app_installed():
    """Without "socketio_views" in INSTALLED_APPS, a mounted router is E003."""
    from django.conf import settings

    apps_without = [app for app in settings.INSTALLED_APPS if app != "socketio_views"]
    with override_settings(INSTALLED_APPS=apps_without):
        [message] = [m for m in run_checks() if m.id == "socketio_views.E003"]
    assert message.hint == 'Add "socketio_views" to INSTALLED_APPS.'


#: A project that mounts a router but forgot "socketio_views" in INSTALLED_APPS.
PROJECT_WITHOUT_APP = {
    "settings.py": (
        'SECRET_KEY = "x"\n'
        'INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth"]\n'
        'ROOT_URLCONF = "urls"\n'
    ),
    "urls.py": (
        "from django.urls import include, path\n"
        "from socketio_views import ChannelRouter, ChannelView\n"
        "router = ChannelRouter()\n"
        'router.register("rooms/<slug:room>", ChannelView)\n'
        'urlpatterns = [path("socket.io/", include(router.urls))]\n'
    ),
}


def test_manage_py_check_reports_the_missing_app(tmp_path):
    """``manage.py check`` in a fresh process reports E003, though nothing imported socketio_views before the checks ran."""
    import os
    import subprocess
    import sys

    from .paths import pythonpath

    for name, text in PROJECT_WITHOUT_APP.items():
        (tmp_path / name).write_text(text)
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "settings", "PYTHONPATH": pythonpath(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-m", "django", "check"], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60
    )
    assert out.returncode == 1, out.stdout + out.stderr
    assert "?: (socketio_views.E003) A ChannelRouter is included in the URLconf, but 'socketio_views' is not in INSTALLED_APPS" in out.stderr
    assert 'HINT: Add "socketio_views" to INSTALLED_APPS.' in out.stderr
    assert out.stderr.count("socketio_views.E003") == 1


#: A process that imports psycopg, patches (or not) in the given order, then runs the checks and prints their ids.
PATCH_ORDER_SCRIPT = """
import sys
from gevent import monkey
if sys.argv[1] == "psycopg-first":
    import psycopg
    monkey.patch_all()
else:
    monkey.patch_all()
    import psycopg
import django
django.setup()
import pytest
from django.core.checks import run_checks
print(sorted(m.id for m in run_checks() if m.id.startswith("socketio_views.")))
"""


@pytest.mark.parametrize("order, expected", [("psycopg-first", ["socketio_views.W020"]), ("patch-first", [])])
def test_psycopg_imported_before_patching_is_a_warning(order, expected):
    """psycopg imported before gevent patched waits for PostgreSQL without yielding: W020; patched first, no warning."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    env.pop("PSYCOPG_WAIT_FUNC", None)
    out = subprocess.run([sys.executable, "-c", PATCH_ORDER_SCRIPT, order], capture_output=True, text=True, env=env, timeout=60)
    assert (str(expected), "") == (out.stdout.strip(), out.stderr.strip())
