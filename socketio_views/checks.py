"""System checks: ``manage.py check`` reports a misconfigured ``SOCKETIO_VIEWS`` and channel patterns."""
import re

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

from .conf import DEFAULTS, SETTING_NAME
from .monkey import psycopg_blocks
from .mounts import mounted_routers
from .transport.engine import TESTED_VERSIONS, check_hooks


@register(Tags.compatibility)
def check_settings(app_configs, **kwargs):
    """E001: unknown keys in ``SOCKETIO_VIEWS``; E002: ``SERVER_OPTIONS`` that is not a dict;
    E005: ``MAX_RECOVERY_SESSIONS`` that is not a count."""
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
    sessions = user_settings.get("MAX_RECOVERY_SESSIONS")
    if sessions is not None and (type(sessions) is not int or sessions < 0):
        errors.append(
            Error(
                f"{SETTING_NAME}['MAX_RECOVERY_SESSIONS'] must be an int of 0 or more, or None "
                f"(got {sessions!r} that is a {type(sessions).__name__}).",
                hint=f"For example {DEFAULTS['MAX_RECOVERY_SESSIONS']} (the default), or None for no limit.",
                id="socketio_views.E005",
            )
        )
    return errors


@register(Tags.compatibility)
def check_library_hooks(app_configs, **kwargs):
    """E020: the installed python-socketio or python-engineio lacks a hook of the transport's adapter, or changed it."""
    problems = check_hooks()
    if not problems:
        return []
    tested = ", ".join(f"{name} {series}.x" for name, series in TESTED_VERSIONS.items())
    return [
        Error(
            f"The installed python-socketio or python-engineio is not one socketio_views works with: {problem}.",
            hint=f"Install the versions socketio_views is tested with ({tested}): pip install socketio_views "
            "resolves them; see docs/upgrading.rst.",
            id="socketio_views.E020",
        )
        for problem in problems
    ]


@register(Tags.compatibility)
def check_metrics(app_configs, **kwargs):
    """E040: ``METRICS`` is true but prometheus-client cannot be imported."""
    from . import metrics
    from .conf import views_settings

    if not views_settings.METRICS or metrics.prometheus_client is not None:
        return []
    return [Error(f"{metrics.MISSING_CLIENT}.", hint=metrics.MISSING_CLIENT_HINT, id="socketio_views.E040")]


@register(Tags.compatibility)
def check_database_waits(app_configs, **kwargs):
    """W020: psycopg was imported before gevent patched, so its queries block every connection."""
    if not psycopg_blocks():
        return []
    return [
        Warning(
            "psycopg was imported before gevent patched the standard library, so it waits for PostgreSQL "
            "without yielding: each query blocks every connection of this process.",
            hint="Patch first: call socketio_views.monkey.patch() before importing anything else in your entry "
            "point, and do not preload the application in gunicorn's master. Or set the environment variable "
            "PSYCOPG_WAIT_FUNC=wait_poll.",
            id="socketio_views.W020",
        )
    ]


@register(Tags.urls)
def check_router_mounted(app_configs, **kwargs):
    """W001: no ChannelRouter is included in ``ROOT_URLCONF``."""
    if mounted_routers():
        return []
    return [
        Warning(
            "No ChannelRouter is included in the URLconf, so no channel can be subscribed to.",
            hint='Add path("socket.io/", include(router.urls)) to your ROOT_URLCONF.',
            id="socketio_views.W001",
        )
    ]


#: A channel name each converter matches, to find patterns that an earlier one shadows.
SAMPLES = {"int": "1", "str": "a", "slug": "a", "uuid": "00000000-0000-0000-0000-000000000000", "path": "a/b"}
PARAMETER_RE = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")


def sample_channel(pattern):
    """A channel name that ``pattern`` (a ``path()`` route) matches, or ``None`` if unknown converters make one hard to build."""
    samples = []

    def replace(match):
        sample = SAMPLES.get(match["converter"] or "str")
        samples.append(sample)
        return sample or ""

    channel = PARAMETER_RE.sub(replace, pattern)
    return None if None in samples else channel


def brackets_balanced(pattern):
    """Whether every ``<`` of a route closes with ``>`` before the next one opens."""
    depth = 0
    for char in pattern:
        if char == "<":
            depth += 1
        elif char == ">":
            depth -= 1
        if depth not in (0, 1):
            return False
    return depth == 0


@register(Tags.urls)
def check_channel_patterns(app_configs, **kwargs):
    """E010 leading slash, E011 unbalanced brackets, W010 duplicate names, W011 shadowed patterns."""
    messages = []
    for _prefix, router in mounted_routers():
        # Each router resolves and reverses its own channels: names and
        # patterns clash only within one.
        names, earlier = {}, []
        for registration in router:
            pattern, where = registration.pattern, f"{registration.view_class.__name__}"
            if pattern.lstrip("^").startswith("/"):
                messages.append(
                    Error(
                        f"Channel pattern {pattern!r} ({where}) starts with '/': channel names never do.",
                        hint=f"Register {pattern.replace('/', '', 1)!r}; clients still subscribe to the namespace '/' + channel.",
                        id="socketio_views.E010",
                    )
                )
            if not registration.regex and not brackets_balanced(pattern):
                messages.append(
                    Error(
                        f"Channel pattern {pattern!r} ({where}) has an unbalanced '<' or '>'.",
                        hint="Close each parameter: '<converter:name>', as in 'rooms/<slug:room>'.",
                        id="socketio_views.E011",
                    )
                )
            if registration.name is not None:
                if registration.name in names:
                    messages.append(
                        Warning(
                            f"Channel name {registration.name!r} is given to {names[registration.name]!r} and {pattern!r}; "
                            f"reverse() only finds one of them.",
                            hint="Give each registration its own name=.",
                            id="socketio_views.W010",
                        )
                    )
                names.setdefault(registration.name, pattern)
            sample = None if registration.regex else sample_channel(pattern)
            if sample is not None:
                for other, other_pattern in earlier:
                    if other.pattern.match(sample):
                        messages.append(
                            Warning(
                                f"Channel pattern {pattern!r} ({where}) is shadowed by {other_pattern!r}, registered "
                                f"before it: a channel such as {sample!r} goes to the first.",
                                hint="Register the more specific pattern first.",
                                id="socketio_views.W011",
                            )
                        )
                        break
            earlier.append((router._url_pattern(registration), pattern))
    return messages


@register(Tags.compatibility)
def check_history_database(app_configs, **kwargs):
    """E004: ``HISTORY_URL`` names a database (``"django://<alias>"``) that ``DATABASES`` does not have."""
    from .history_db import alias_of

    user_settings = getattr(settings, SETTING_NAME, {}) or {}
    url = user_settings.get("HISTORY_URL") if isinstance(user_settings, dict) else None
    alias = alias_of(url)
    if alias is None or alias in settings.DATABASES:
        return []
    return [
        Error(
            f"{SETTING_NAME}['HISTORY_URL'] is {url!r}, but DATABASES has no {alias!r} database.",
            hint=f'Use "django" for the default database, or "django://<alias>" with one of {sorted(settings.DATABASES)}.',
            id="socketio_views.E004",
        )
    ]
