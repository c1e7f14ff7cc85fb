"""
Channels as contracts: what each registered channel accepts, answers, sends and refuses, read from its view.

Example usage::

    from socketio_views.contracts import describe
    from socketio_views.contracts.asyncapi import asyncapi_document

    channels = describe()            # every router of ROOT_URLCONF
    document = asyncapi_document(channels)

``manage.py channels_schema`` writes the AsyncAPI 3.0 document
(:mod:`~socketio_views.contracts.asyncapi`) or TypeScript declarations for
socket.io-client (:mod:`~socketio_views.contracts.typescript`). Everything
comes from the views: ``on_<event>`` handlers and their payload and return
annotations, ``emits``, ``event_permissions``, ``idempotent_events`` and the mixins.
"""
import inspect
import re
import typing

import attrs
from django.urls.converters import IntConverter, get_converters

from .. import exceptions, payloads
from ..mixins import AccessMixin, PresenceMixin, RateLimitMixin
from ..mounts import mounted_routers
from .jsonschema import first_paragraph, identifier

#: A ``path()`` parameter, as Django's own routes parse it.
PATH_PARAMETER = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<parameter>[^>]+)>")
#: A named group of a ``re_path()`` pattern.
NAMED_GROUP = re.compile(r"\(\?P<(?P<parameter>\w+)>")

#: What refuses any subscription, whatever its view (``connect_error``).
SUBSCRIPTION_REFUSALS = (
    exceptions.SubscriptionRefused,
    exceptions.OriginNotAllowed,
    exceptions.TooManySubscriptions,
    exceptions.TooManyConnections,
    exceptions.InvalidPayload,
    exceptions.PermissionRefused,
    exceptions.ServerError,
)
#: The ``error`` events any subscription may receive.
EVENT_ERRORS = (
    exceptions.UnknownEvent,
    exceptions.InvalidPayload,
    exceptions.PermissionRefused,
    exceptions.ServerError,
    exceptions.SlowConsumer,
    exceptions.TooManyAttachments,
    exceptions.TooManyPendingAcks,
    exceptions.LoggedOut,
)


@attrs.frozen
class Parameter:
    """One parameter of a channel pattern: its name, converter and regular expression."""

    name: str
    converter: str | None
    regex: str
    numeric: bool = False


@attrs.frozen
class ClientEvent:
    """An event a client may emit: its payload type (``None``: free-form), acknowledgement type and permissions."""

    name: str
    payload: type | None
    ack: object
    permissions: tuple
    description: str
    #: The payload field of the client's id, if repeats are answered from memory (``IdempotentEventsMixin``).
    idempotency_key: str | None = None


@attrs.frozen
class ChannelContract:
    """What one registered pattern promises: its address, events in both directions and refusal codes."""

    key: str
    pattern: str
    address: str | None
    parameters: tuple
    view_class: type
    prefix: str
    client_events: tuple
    server_events: dict
    subscription_errors: tuple
    event_errors: tuple
    description: str


def describe(routers=None):
    """Return a :class:`ChannelContract` per pattern of ``routers`` (``(prefix, router)`` pairs; default: the URLconf's)."""
    if routers is None:
        routers = mounted_routers()
    contracts, keys = [], set()
    for prefix, router in routers:
        for registration in router:
            contract = describe_registration(registration, prefix="/" + prefix)
            key, n = contract.key, 2
            while key in keys:
                key, n = f"{contract.key}_{n}", n + 1
            keys.add(key)
            contracts.append(attrs.evolve(contract, key=key))
    return contracts


def describe_registration(registration, prefix="/socket.io/"):
    """Return the :class:`ChannelContract` of one :class:`~socketio_views.routers.Registration`."""
    view_class = registration.view_class
    if registration.regex:
        address, parameters = regex_address(registration.pattern)
    else:
        address, parameters = path_address(registration.pattern)
    key = identifier(registration.name or address or registration.pattern)
    description = first_paragraph(view_class) or f"Served by {view_class.__name__}."
    if address is None:
        description += f" Channel names match the regular expression ``{registration.pattern}``."
    return ChannelContract(
        key=key,
        pattern=registration.pattern,
        address=address,
        parameters=tuple(parameters),
        view_class=view_class,
        prefix=prefix,
        client_events=tuple(client_events(view_class)),
        server_events=server_events(view_class),
        subscription_errors=tuple(subscription_errors(view_class)),
        event_errors=tuple(event_errors(view_class)),
        description=description,
    )


def path_address(pattern):
    """``"rooms/<slug:room>"`` -> ``("rooms/{room}", [Parameter("room", "slug", "[-a-zA-Z0-9_]+")])``."""
    converters = get_converters()
    parameters = []

    def replace(match):
        name = match["converter"] or "str"
        converter = converters[name]
        parameters.append(Parameter(match["parameter"], name, converter.regex, isinstance(converter, IntConverter)))
        return "{" + match["parameter"] + "}"

    return PATH_PARAMETER.sub(replace, pattern), parameters


def regex_address(pattern):
    """The address of a ``re_path()`` pattern, or ``None`` where it is more than literal text and named groups."""
    body = re.sub(r"^\^", "", pattern)
    body = re.sub(r"(\$|\\Z)$", "", body)
    parameters, literal, i = [], [], 0
    while i < len(body):
        match = NAMED_GROUP.match(body, i)
        if match:
            end = _group_end(body, i)
            if end is None:
                return None, []
            parameters.append(Parameter(match["parameter"], None, body[match.end():end - 1]))
            literal.append("{" + match["parameter"] + "}")
            i = end
        elif body[i] == "\\" and i + 1 < len(body) and not body[i + 1].isalnum():
            literal.append(body[i + 1])
            i += 2
        elif body[i] in ".^$*+?{}[]|()\\":
            return None, []
        else:
            literal.append(body[i])
            i += 1
    return "".join(literal), parameters


def _group_end(text, start):
    depth, i = 0, start
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == "(":
            depth += 1
        elif text[i] == ")":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return None


def client_events(view_class):
    """The :class:`ClientEvent` of each event ``view_class`` dispatches, in name order."""
    permissions = getattr(view_class, "event_permissions", None) or {}
    idempotent = getattr(view_class, "idempotent_events", None) or ()
    events = []
    for event, name in sorted(view_class.allowed_events().items()):
        handler = getattr(view_class, name)
        required = permissions.get(event, ())
        events.append(
            ClientEvent(
                name=event,
                payload=payloads.payload_type(handler),
                ack=ack_type(handler),
                permissions=(required,) if isinstance(required, str) else tuple(required),
                description=first_paragraph(handler),
                idempotency_key=view_class.idempotency_key if event in idempotent else None,
            )
        )
    return events


def ack_type(handler):
    """The return annotation of ``handler`` (its acknowledgement's type), or ``None`` if it declares none."""
    try:
        hints = typing.get_type_hints(handler)
    except Exception:
        hints = {}
    annotation = hints.get("return", inspect.signature(handler).return_annotation)
    return None if annotation is inspect.Signature.empty else annotation


#: JSON Schema of one entry of :class:`~socketio_views.mixins.PresenceMixin`'s events.
PRESENCE_ENTRY = {"type": "object", "properties": {"sid": {"type": "string"}}, "required": ["sid"]}
#: JSON Schema of the events :class:`~socketio_views.mixins.PresenceMixin` sends.
PRESENCE_EVENTS = {
    "presence_state": {
        "type": "object",
        "description": "Who is subscribed, sent to a new subscriber.",
        "properties": {"presences": {"type": "array", "items": PRESENCE_ENTRY}},
        "required": ["presences"],
    },
    "presence_diff": {
        "type": "object",
        "description": "Who came and who left, sent to the other subscribers (coalesced per PRESENCE_INTERVAL).",
        "properties": {
            "joins": {"type": "array", "items": PRESENCE_ENTRY},
            "leaves": {"type": "array", "items": PRESENCE_ENTRY},
        },
        "required": ["joins", "leaves"],
    },
    "presence_count": {
        "type": "object",
        "description": "How many are subscribed, sent instead of lists past PRESENCE_LIST_LIMIT.",
        "properties": {"count": {"type": "integer"}},
        "required": ["count"],
    },
}


def server_events(view_class):
    """``{event: type or JSON Schema dict}``: the view's ``emits``, and what its mixins send."""
    events = {}
    if issubclass(view_class, PresenceMixin) and view_class.presence_events:
        events.update(PRESENCE_EVENTS)
    events.update(getattr(view_class, "emits", None) or {})
    return events


def subscription_errors(view_class):
    """The :class:`~socketio_views.exceptions.ChannelError` classes that may refuse a subscription to ``view_class``."""
    errors = list(SUBSCRIPTION_REFUSALS)
    if issubclass(view_class, AccessMixin):
        errors.insert(0, exceptions.LoginRequired)
    return errors


def event_errors(view_class):
    """The :class:`~socketio_views.exceptions.ChannelError` classes a subscription to ``view_class`` may receive as ``error``."""
    errors = list(EVENT_ERRORS)
    if issubclass(view_class, RateLimitMixin):
        errors.insert(1, exceptions.RateLimited)
    return errors
