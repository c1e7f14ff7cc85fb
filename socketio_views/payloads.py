"""
Typed event payloads: a handler that annotates its payload with an attrs class
receives an instance built by cattrs, or never runs.

Example usage::

    @attrs.define
    class ChatMessage:
        text: str = attrs.field(validator=attrs.validators.max_len(500))

    class RoomChannel(ChannelView):
        def on_message(self, message: ChatMessage, room):
            self.broadcast({"text": message.text})

Conversion is strict: no field may be missing, unknown or of another JSON
type (``"3"`` is not an ``int``); a refusal carries a message per field.
"""
import inspect
import json
import re
import typing

import attrs
import cattrs
from django.core.exceptions import ImproperlyConfigured

from .exceptions import InvalidPayload


def _strict_hook(expected):
    def structure(value, _type):
        # bool is an int in Python, not in JSON; an int is a fine float.
        if isinstance(value, bool) and expected is not bool:
            raise TypeError(f"expected {expected.__name__}, got boolean")
        if expected is float and isinstance(value, int):
            return float(value)
        if not isinstance(value, expected):
            raise TypeError(f"expected {expected.__name__}, got {type(value).__name__}")
        return value

    return structure


def make_converter():
    """Return the cattrs converter used for payloads: detailed, strict, no extra keys."""
    converter = cattrs.Converter(detailed_validation=True, forbid_extra_keys=True)
    for expected in (str, int, float, bool):
        converter.register_structure_hook(expected, _strict_hook(expected))
    return converter


#: The default converter; a view may set ``payload_converter`` to its own.
converter = make_converter()


def payload_type(handler):
    """Return the attrs class that annotates ``handler``'s payload argument, or ``None``."""
    try:
        parameters = list(inspect.signature(handler).parameters.values())
    except (TypeError, ValueError):
        return None
    if parameters and parameters[0].name == "self":
        parameters = parameters[1:]
    if not parameters:
        return None
    annotation = parameters[0].annotation
    if isinstance(annotation, str):
        try:
            annotation = typing.get_type_hints(handler).get(parameters[0].name)
        except Exception:
            return None
    return annotation if isinstance(annotation, type) and attrs.has(annotation) else None


def structure(data, cls, converter=converter):
    """Build ``cls`` from the JSON payload ``data`` or raise :class:`~socketio_views.exceptions.InvalidPayload`."""
    if not isinstance(data, dict):
        raise InvalidPayload(
            f"Expected a JSON object for {cls.__name__}, got {_json_type(data)}.", fields={}
        )
    try:
        return converter.structure(data, cls)
    except cattrs.BaseValidationError as exc:
        raise InvalidPayload(fields=_field_errors(exc, cls)) from None
    except (TypeError, ValueError) as exc:
        raise InvalidPayload(fields=_field_errors_from_validator(exc, cls)) from None


def _field_errors(exc, cls):
    fields = {}
    for line in cattrs.transform_error(exc, format_exception=_format_exception):
        message, _, path = line.rpartition(" @ ")
        field = path[2:] if path.startswith("$.") else None
        if field is None:
            field = _guess_field(message, cls)
        fields.setdefault(field, []).append(message)
    return fields


def _format_exception(exc, type_):
    if isinstance(exc, KeyError):
        return "This field is required."
    if isinstance(exc, cattrs.ForbiddenExtraKeysError):
        return f"Unknown field(s): {', '.join(sorted(exc.extra_fields))}."
    if isinstance(exc, TypeError) and len(exc.args) >= 2 and isinstance(exc.args[1], attrs.Attribute):
        return str(exc.args[0])
    return str(exc) or type(exc).__name__


def _field_errors_from_validator(exc, cls):
    message = str(exc.args[0]) if exc.args else str(exc)
    return {_guess_field(message, cls): [message]}


def _guess_field(message, cls):
    names = {a.name for a in attrs.fields(cls)}
    for name in re.findall(r"'([A-Za-z_][A-Za-z0-9_]*)'", message):
        if name in names:
            return name
    return "__all__"


def _json_type(data):
    return {type(None): "null", bool: "boolean", str: "string", list: "array"}.get(type(data), type(data).__name__)


def wire(data):
    """Return ``data`` as a Socket.IO peer receives it.

    As with python-socketio's JSON encoding: tuples inside a payload become
    lists, non-string keys become strings, ``bytes`` travel as binary
    attachments, and anything else raises ``TypeError``.
    """
    if data is None or isinstance(data, (str, bool, int, float, bytes)):
        return data
    if isinstance(data, (list, tuple)):
        return [wire(item) for item in data]
    if isinstance(data, dict):
        return {_wire_key(key): wire(value) for key, value in data.items()}
    raise TypeError(
        f"{data!r} (a {type(data).__name__}) cannot be sent to a Socket.IO client; "
        f"convert it to JSON types (dict, list, str, int, float, bool, None) or bytes."
    )


def _wire_key(key):
    if isinstance(key, str):
        return key
    if key is None or isinstance(key, (bool, int, float)):
        return json.dumps(key)
    raise TypeError(f"Key {key!r} of a payload must be a string.")


def unstructure(value, converter=converter):
    """Return attrs instances as plain JSON data; leave everything else as it is."""
    if attrs.has(type(value)):
        return converter.unstructure(value)
    return value


# Typed outgoing events: a view's ``emits``.


class OutgoingPayloadError(TypeError):
    """A payload sent as an event that the view declares in ``emits`` does not have the declared type.

    ``view`` is the view class, ``event`` the event, ``fields`` the errors of
    each field (``{"__all__": [...]}`` for the payload as a whole).
    """

    def __init__(self, message, *, view, event, fields):
        super().__init__(message)
        self.view, self.event, self.fields = view, event, fields


def check_emits_declaration(view_class, unsendable=()):
    """Raise ``ImproperlyConfigured`` unless ``view_class.emits`` maps event names (none of ``unsendable``) to types (or ``None``)."""
    declared = view_class.emits
    if declared is None:
        return
    name = view_class.__name__
    if not isinstance(declared, dict):
        raise ImproperlyConfigured(
            f"{name}.emits must be a dict of event names to payload types, such as "
            f'{{"message": ChatMessage}} (got {declared!r} that is a {type(declared).__name__}).'
        )
    for event, expected in declared.items():
        if not isinstance(event, str) or not event or event in unsendable:
            raise ImproperlyConfigured(
                f"{name}.emits declares {event!r}, which the server cannot send; use another event name."
            )
        if expected is not None and not (isinstance(expected, type) or typing.get_origin(expected) is not None):
            raise ImproperlyConfigured(
                f"{name}.emits[{event!r}] must be a type, such as an attrs class, dict or list[str], "
                f"or None for any JSON (got {expected!r})."
            )


def check_outgoing(view_class, event, data, converter=converter):
    """Raise :class:`OutgoingPayloadError` if ``view_class`` declares ``event`` in ``emits`` and ``data`` does not fit.

    An instance of the declared attrs class fits; a dict fits if the class can
    be built from it as an incoming payload would be (strictly: no missing,
    unknown or mistyped field, every validator passed). Other declared types
    (``dict``, ``list[str]``...) are structured with ``converter``. ``None``
    declares any JSON.
    """
    declared = view_class.emits or {}
    if event not in declared or declared[event] is None or declared[event] is typing.Any:
        return
    expected = declared[event]
    fields = _misfit(data, expected, converter)
    if fields:
        details = "; ".join(f"{field}: {' '.join(messages)}" for field, messages in fields.items())
        raise OutgoingPayloadError(
            f"{view_class.__name__} emits {event!r} as {_type_name(expected)}, but the payload does not match: "
            f"{details} (got {_short_repr(data)}).",
            view=view_class,
            event=event,
            fields=fields,
        )


def _misfit(data, expected, converter):
    if isinstance(expected, type) and attrs.has(expected):
        if isinstance(data, expected):
            return {}
        if attrs.has(type(data)):
            return {"__all__": [f"expected {expected.__name__}, got {type(data).__name__}."]}
        try:
            structure(data, expected, converter)
        except InvalidPayload as exc:
            return exc.extra.get("fields") or {"__all__": [exc.message]}
        return {}
    try:
        converter.structure(unstructure(data, converter), expected)
    except cattrs.BaseValidationError as exc:
        return {"__all__": list(cattrs.transform_error(exc, format_exception=_format_exception))}
    except Exception as exc:
        return {"__all__": [str(exc) or type(exc).__name__]}
    return {}


def _short_repr(data, limit=200):
    text = repr(data)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _type_name(tp):
    return tp.__name__ if isinstance(tp, type) else repr(tp).replace("typing.", "")
