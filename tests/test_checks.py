"""System checks for the SOCKETIO_VIEWS setting and the URLconf."""
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


@override_settings(ROOT_URLCONF="tests.urls_without_router")
def test_missing_router_is_a_warning():
    """A URLconf without any ChannelRouter is W001 with the include() to add."""
    [message] = [m for m in run_checks() if m.id == "socketio_views.W001"]
    assert 'include(router.urls)' in message.hint
