"""System checks: ``manage.py check`` reports a misconfigured ``SOCKETIO_VIEWS``."""
from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

from .conf import DEFAULTS, SETTING_NAME


@register(Tags.compatibility)
def check_settings(app_configs, **kwargs):
    """E001: unknown keys in ``SOCKETIO_VIEWS``; E002: ``SERVER_OPTIONS`` that is not a dict."""
    user_settings = getattr(settings, SETTING_NAME, {}) or {}
    errors = []
    if not isinstance(user_settings, dict):
        return [
            Error(
                f"{SETTING_NAME} must be a dict.",
                hint=f"Set {SETTING_NAME} = {{...}} with keys among {sorted(DEFAULTS)}.",
                id="socketio_views.E001",
            )
        ]
    for key in sorted(set(user_settings) - set(DEFAULTS)):
        errors.append(
            Error(
                f"{SETTING_NAME} has an unknown key {key!r}.",
                hint=f"Valid keys are {sorted(DEFAULTS)}.",
                id="socketio_views.E001",
            )
        )
    if not isinstance(user_settings.get("SERVER_OPTIONS", {}), dict):
        errors.append(
            Error(
                f"{SETTING_NAME}['SERVER_OPTIONS'] must be a dict of socketio.Server keyword arguments.",
                hint="For example {'ping_interval': 25}.",
                id="socketio_views.E002",
            )
        )
    return errors


@register(Tags.urls)
def check_router_mounted(app_configs, **kwargs):
    """W001: no ChannelRouter is included in ``ROOT_URLCONF``."""
    from .routers import mounted_routers

    if mounted_routers():
        return []
    return [
        Warning(
            "No ChannelRouter is included in the URLconf, so no channel can be subscribed to.",
            hint='Add path("socket.io/", include(router.urls)) to your ROOT_URLCONF.',
            id="socketio_views.W001",
        )
    ]
