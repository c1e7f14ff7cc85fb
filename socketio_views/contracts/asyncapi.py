"""
The AsyncAPI 3.0 document of a project's channels.

Example usage::

    from socketio_views.contracts import describe
    from socketio_views.contracts.asyncapi import asyncapi_document

    document = asyncapi_document(describe(), title="Chat", host="chat.example.com")

The document describes the server: its ``receive`` operations are the events
a client emits (with their acknowledgement as the operation's ``reply``), its
``send`` operations the events a client receives. Each channel pattern is a
channel whose address is in AsyncAPI form (``rooms/{room}``), with a
parameter per converter; refusals are messages of their own, one per code.
"""
import attrs
from django.conf import settings

from .. import exceptions
from ..conf import views_settings
from .jsonschema import Schemas, first_paragraph, identifier

#: The version of the AsyncAPI specification the document follows.
ASYNCAPI_VERSION = "3.0.0"

_EXTRA_FIELDS = {
    "retry_after": {"type": "number", "description": "Seconds to wait before trying again."},
    "fields": {
        "type": "object",
        "description": "The errors of each field of the payload (``__all__``: of the payload as a whole).",
        "additionalProperties": {"type": "array", "items": {"type": "string"}},
    },
}
#: The extra fields each error carries, beside ``message`` and ``code``.
ERROR_EXTRAS = {exceptions.RateLimited: ("retry_after",), exceptions.InvalidPayload: ("fields",)}


def asyncapi_document(channels, *, title="Channels", version="1.0.0", host="localhost:8000", protocol="ws", description=None):
    """Return the AsyncAPI 3.0 document (a dict ready for JSON) of ``channels`` (:func:`~socketio_views.contracts.describe`).

    :param title: the document's ``info.title``.
    :param version: the API's version, ``info.version``.
    :param host: the host (and port) clients connect to.
    :param protocol: ``"ws"`` or ``"wss"``.
    """
    schemas = Schemas()
    document = {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": title,
            "version": version,
            "description": description
            or (
                "The Socket.IO channels of this project, generated from its ChannelViews by "
                "`manage.py channels_schema`. It describes the server: `receive` operations are the events "
                "a client emits (their `reply`, the acknowledgement), `send` operations the events a client "
                "receives. Each channel is a Socket.IO namespace: subscribe to `rooms/lobby` by connecting "
                "to the namespace `/rooms/lobby`."
            ),
        },
        "defaultContentType": "application/json",
        "servers": {},
        "channels": {},
        "operations": {},
        "components": {"schemas": {}, "messages": {}, "securitySchemes": {"session": session_scheme()}},
    }
    messages = document["components"]["messages"]
    servers = {}
    for channel in channels:
        server_key = servers.get(channel.prefix)
        if server_key is None:
            server_key = servers[channel.prefix] = "default" if not servers else identifier(channel.prefix)
            document["servers"][server_key] = server_object(host, protocol, channel.prefix)
        document["channels"][channel.key] = channel_object(channel, server_key, schemas, messages)
        document["operations"].update(operations(channel))
    document["components"]["schemas"] = schemas.definitions
    return document


def server_object(host, protocol, pathname):
    """The AsyncAPI server of a router's Socket.IO endpoint at ``pathname``."""
    origins = views_settings.ALLOWED_ORIGINS
    if origins is None:
        allowed = "the site's own origin and CSRF_TRUSTED_ORIGINS"
        trusted = list(getattr(settings, "CSRF_TRUSTED_ORIGINS", []))
        if trusted:
            allowed += f" ({', '.join(trusted)})"
    elif origins == "*":
        allowed = "any origin"
    else:
        allowed = ", ".join(origins)
    return {
        "host": host,
        "protocol": protocol,
        "pathname": pathname,
        "description": (
            "Socket.IO (protocol 5, Engine.IO 4) over WebSocket or HTTP long-polling. Web pages may connect "
            f"from {allowed}: a handshake with another Origin header is refused (`origin_not_allowed`). "
            "The Django session cookie, when sent, authenticates the connection; without it the user is anonymous."
        ),
        "security": [{"$ref": "#/components/securitySchemes/session"}],
    }


def session_scheme():
    """The security scheme of the Django session cookie."""
    return {
        "type": "httpApiKey",
        "name": settings.SESSION_COOKIE_NAME,
        "in": "cookie",
        "description": (
            "The Django session cookie of the handshake: `request.user` in every subscription. Optional: "
            "a connection without it is anonymous, and channels that need a user refuse it (`login_required`)."
        ),
    }


def channel_object(channel, server_key, schemas, messages):
    """The AsyncAPI channel of one :class:`~socketio_views.contracts.ChannelContract`; its messages go in ``messages``."""
    view = channel.view_class.__name__
    obj = {"address": channel.address, "title": view, "description": channel.description}
    if channel.address is not None and channel.parameters:
        obj["parameters"] = {parameter.name: parameter_object(parameter) for parameter in channel.parameters}
    local = {}
    for event in channel.client_events:
        local[f"client.{event.name}"] = _component(messages, f"{view}.client.{event.name}", client_message(event, schemas))
        if event.ack is not None:
            local[f"ack.{event.name}"] = _component(messages, f"{view}.ack.{event.name}", ack_message(event, schemas))
    for event, tp in channel.server_events.items():
        local[f"server.{event}"] = _component(messages, f"{view}.server.{event}", server_message(event, tp, schemas))
    for error in channel.event_errors:
        local[f"error.{error.default_code}"] = _component(messages, f"error.{error.default_code}", error_message(error))
    for error in channel.subscription_errors:
        local[f"refusal.{error.default_code}"] = _component(messages, f"refusal.{error.default_code}", refusal_message(error))
    obj["messages"] = local
    obj["servers"] = [{"$ref": f"#/servers/{server_key}"}]
    return obj


def _component(messages, key, message):
    key = identifier(key)
    messages.setdefault(key, message)
    return {"$ref": f"#/components/messages/{key}"}


def parameter_object(parameter):
    """The AsyncAPI parameter of a pattern's parameter: the converter and its regular expression."""
    if parameter.converter:
        description = f"`{parameter.converter}` converter: matches `{parameter.regex}`."
    else:
        description = f"Matches `{parameter.regex}`."
    obj = {"description": description, "x-pattern": parameter.regex}
    if parameter.converter:
        obj["x-converter"] = parameter.converter
    return obj


def client_message(event, schemas):
    """The message of a client event: its payload's schema (free-form when the handler declares no attrs class)."""
    description = event.description or f"The `{event.name}` event a client emits."
    if event.permissions:
        description += (
            f" Requires the permission{'s' if len(event.permissions) > 1 else ''} "
            f"{', '.join(f'`{p}`' for p in event.permissions)}: refused with `permission_denied` otherwise."
        )
    if event.idempotency_key:
        description += (
            f" Idempotent: a repeat with the same `{event.idempotency_key}` (a string of the client's choosing) "
            "gets the first answer, without being handled again."
        )
    message = {"name": event.name, "title": event.name, "description": description, "payload": schemas.of(event.payload)}
    if event.permissions:
        message["x-permissions"] = list(event.permissions)
    if event.idempotency_key:
        message["x-idempotency-key"] = event.idempotency_key
    return message


def ack_message(event, schemas):
    """The acknowledgement of a client event: what its handler returns, or an error."""
    error = {
        "type": "object",
        "properties": {"error": {"type": "object", "properties": _error_properties(None, event=True)}},
        "required": ["error"],
    }
    return {
        "name": event.name,
        "title": f"Acknowledgement of {event.name}",
        "description": f"What `{event.name}` is acknowledged with: the handler's return value, or `{{\"error\": {{...}}}}`.",
        "payload": {"anyOf": [schemas.of(event.ack), error]},
    }


def server_message(event, tp, schemas):
    """The message of an event the server sends (from ``emits`` or a mixin)."""
    if isinstance(tp, dict):
        payload, description = tp, tp.get("description", "")
    else:
        payload, description = schemas.of(tp), first_paragraph(tp) if isinstance(tp, type) and attrs.has(tp) else ""
    message = {"name": event, "title": event, "payload": payload}
    if description:
        message["description"] = description
    return message


def _error_properties(error, *, event):
    code = {"type": "string"} if error is None else {"type": "string", "const": error.default_code}
    properties = {"message": {"type": "string"}, "code": code}
    if event:
        properties["event"] = {"type": ["string", "null"], "description": "The event refused, if one was."}
    for name in ERROR_EXTRAS.get(error, ()):
        properties[name] = _EXTRA_FIELDS[name]
    return properties


def error_message(error):
    """The ``error`` event of code ``error.default_code``."""
    return {
        "name": "error",
        "title": f"error: {error.default_code}",
        "summary": error.default_message,
        "description": first_paragraph(error),
        "payload": {
            "type": "object",
            "properties": _error_properties(error, event=True),
            "required": ["message", "code", "event"],
        },
    }


def refusal_message(error):
    """A refused subscription of code ``error.default_code``: Socket.IO's CONNECT_ERROR packet (``connect_error``)."""
    return {
        "name": "connect_error",
        "title": f"connect_error: {error.default_code}",
        "summary": error.default_message,
        "description": first_paragraph(error),
        "payload": {
            "type": "object",
            "properties": {
                "message": {"type": "string"},
                "data": {"type": "object", "properties": _error_properties(error, event=False), "required": ["message", "code"]},
            },
            "required": ["message", "data"],
        },
    }


def operations(channel):
    """The AsyncAPI operations of a channel, keyed ``<channel>.<action>.<event>``."""
    ref = {"$ref": f"#/channels/{channel.key}"}

    def messages(*keys):
        return [{"$ref": f"#/channels/{channel.key}/messages/{key}"} for key in keys]

    ops = {}
    for event in channel.client_events:
        op = {
            "action": "receive",
            "channel": ref,
            "summary": f"A client emits `{event.name}`.",
            "messages": messages(f"client.{event.name}"),
        }
        if event.ack is not None:
            op["reply"] = {"channel": ref, "messages": messages(f"ack.{event.name}")}
        ops[f"{channel.key}.receive.{identifier(event.name)}"] = op
    for event in channel.server_events:
        ops[f"{channel.key}.send.{identifier(event)}"] = {
            "action": "send",
            "channel": ref,
            "summary": f"The server sends `{event}`.",
            "messages": messages(f"server.{event}"),
        }
    ops[f"{channel.key}.send.error"] = {
        "action": "send",
        "channel": ref,
        "summary": "An event was refused or failed (also its acknowledgement, if one was asked for).",
        "messages": messages(*(f"error.{e.default_code}" for e in channel.event_errors)),
    }
    ops[f"{channel.key}.send.refusal"] = {
        "action": "send",
        "channel": ref,
        "summary": "The subscription was refused: socket.io-client's `connect_error`, with `err.data.code`.",
        "messages": messages(*(f"refusal.{e.default_code}" for e in channel.subscription_errors)),
    }
    return ops

