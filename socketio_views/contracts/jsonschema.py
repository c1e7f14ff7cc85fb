"""
JSON Schema of payload types: attrs classes (nested), their fields' types and validators.

Example usage::

    schemas = Schemas()
    schemas.of(ChatMessage)   # {"$ref": "#/components/schemas/ChatMessage"}
    schemas.definitions       # {"ChatMessage": {"type": "object", ...}}

The schema says what :mod:`socketio_views.payloads` accepts: an attrs class is
an object with exactly its fields (no extra keys), a field without a default
is required, and the attrs validators that JSON Schema can express
(``max_len``, ``min_len``, ``in_``, ``matches_re``, ``lt``, ``le``, ``gt``,
``ge``, ``optional``, ``deep_iterable``) become constraints. Other validators
(functions) are checked at run time only.
"""
import collections.abc
import enum
import json
import re
import types
import typing

import attrs

#: JSON Schema of the JSON scalars a Python type stands for.
SCALARS = {
    str: {"type": "string"},
    int: {"type": "integer"},
    float: {"type": "number"},
    bool: {"type": "boolean"},
    type(None): {"type": "null"},
}

#: Where :class:`Schemas` keeps named schemas, as ``$ref`` sees them.
REF_PREFIX = "#/components/schemas/"

_SEQUENCES = (list, tuple, set, frozenset, collections.abc.Sequence, collections.abc.Set, collections.abc.MutableSequence)
_MAPPINGS = (dict, collections.abc.Mapping, collections.abc.MutableMapping)


class Schemas:
    """Turns Python types into JSON Schema, keeping each attrs class once in :attr:`definitions`.

    :param ref_prefix: what goes before a class's name in a ``$ref``.
    """

    def __init__(self, ref_prefix=REF_PREFIX):
        self.ref_prefix = ref_prefix
        #: ``{name: schema}`` of every attrs class met, in the order met.
        self.definitions = {}
        #: ``{attrs class: name}``; a name is the class's, qualified by its module if two classes share it.
        self.names = {}

    def of(self, tp):
        """Return the JSON Schema of values of type ``tp`` (``None``, ``typing.Any`` or ``object``: free-form ``{}``)."""
        if tp is None or tp is typing.Any or tp is object:
            return {}
        if tp in SCALARS:
            return dict(SCALARS[tp])
        if isinstance(tp, type) and attrs.has(tp):
            return {"$ref": self.ref_prefix + self.name_of(tp)}
        if isinstance(tp, type) and issubclass(tp, enum.Enum):
            values = [member.value for member in tp]
            return {"enum": values, "title": tp.__name__, **_enum_type(values)}
        origin, args = typing.get_origin(tp), typing.get_args(tp)
        if origin is typing.Union or origin is types.UnionType:
            options = [self.of(arg) for arg in args]
            return {"anyOf": options}
        if origin is typing.Literal:
            return {"enum": list(args), **_enum_type(list(args))}
        if origin is typing.Annotated:
            return self.of(args[0])
        if tp in _SEQUENCES or origin in _SEQUENCES:
            if origin is tuple and args and args[-1] is not Ellipsis:
                items = [self.of(arg) for arg in args]
                return {"type": "array", "items": items, "additionalItems": False, "minItems": len(items)}
            schema = {"type": "array"}
            if args:
                schema["items"] = self.of(args[0])
            if tp in (set, frozenset) or origin in (set, frozenset, collections.abc.Set):
                schema["uniqueItems"] = True
            return schema
        if tp in _MAPPINGS or origin in _MAPPINGS:
            schema = {"type": "object"}
            if len(args) == 2:
                schema["additionalProperties"] = self.of(args[1])
            return schema
        # A type JSON Schema cannot say (a datetime with a cattrs hook of the
        # project's, say): free-form, named.
        return {"description": f"A {getattr(tp, '__name__', repr(tp))} (no JSON Schema known)."}

    def name_of(self, cls):
        """Return the name of attrs class ``cls`` in :attr:`definitions`, adding its schema on first sight."""
        if cls in self.names:
            return self.names[cls]
        name = cls.__name__
        if name in self.definitions:
            name = f"{cls.__module__}.{cls.__qualname__}"
        self.names[cls] = name
        self.definitions[name] = {}  # reserved before the fields: a class may nest itself
        self.definitions[name] = self._object(cls)
        return name

    def _object(self, cls):
        hints = _type_hints(cls)
        properties, required = {}, []
        for field in attrs.fields(cls):
            schema = self.of(hints.get(field.name, field.type))
            schema = _constrained(schema, field.validator)
            if field.default is attrs.NOTHING:
                required.append(field.name)
            elif not isinstance(field.default, attrs.Factory) and _is_json(field.default):
                schema = {**schema, "default": _json_value(field.default)}
            properties[field.name] = schema
        schema = {"type": "object", "title": cls.__name__}
        doc = _doc(cls)
        if doc:
            schema["description"] = doc
        schema["properties"] = properties
        if required:
            schema["required"] = required
        schema["additionalProperties"] = False
        return schema


def _constrained(schema, validator):
    """``schema`` with the constraints ``validator`` expresses."""
    if validator is None:
        return schema
    constraints = {}
    optional = False
    for one in _flatten(validator):
        kind = type(one).__name__
        if kind == "_OptionalValidator":
            # JSON Schema's keywords constrain only values of their own type,
            # so those of the inner validators leave null alone (enum aside).
            optional = True
            schema = _constrained(schema, one.validator)
            continue
        if kind == "_MaxLengthValidator":
            constraints["maxItems" if _is_array(schema) else "maxLength"] = one.max_length
        elif kind == "_MinLengthValidator":
            constraints["minItems" if _is_array(schema) else "minLength"] = one.min_length
        elif kind == "_InValidator":
            options = getattr(one, "options", None)
            if isinstance(options, (list, tuple, set, frozenset)) and all(_is_json(o) for o in options):
                constraints["enum"] = sorted(map(_json_value, options), key=repr) if isinstance(options, (set, frozenset)) else [_json_value(o) for o in options]
        elif kind == "_MatchesReValidator":
            # JSON Schema's pattern searches; attrs fullmatches unless told otherwise.
            how = getattr(one.match_func, "__name__", "fullmatch")
            source = one.pattern.pattern
            constraints["pattern"] = {"search": source, "match": f"^(?:{source})"}.get(how, f"^(?:{source})$")
        elif kind == "_NumberValidator":
            keyword = {"<": "exclusiveMaximum", "<=": "maximum", ">": "exclusiveMinimum", ">=": "minimum"}.get(one.compare_op)
            if keyword:
                constraints[keyword] = one.bound
        elif kind == "_DeepIterable" and schema.get("type") == "array":
            if one.member_validator is not None and isinstance(schema.get("items"), dict):
                schema = {**schema, "items": _constrained(schema["items"], one.member_validator)}
            if one.iterable_validator is not None:
                schema = _constrained(schema, one.iterable_validator)
    if optional and "enum" in schema and None not in schema["enum"]:
        schema = {**schema, "enum": [*schema["enum"], None]}
        schema.pop("type", None)
    if not constraints:
        return schema
    if "$ref" in schema:
        # Constraints beside a $ref are ignored by older JSON Schema drafts.
        return {"allOf": [schema], **constraints}
    return {**schema, **constraints}


def _is_array(schema):
    return schema.get("type") == "array" or any(option.get("type") == "array" for option in schema.get("anyOf", ()))


def _flatten(validator):
    inner = getattr(validator, "_validators", None)
    if isinstance(validator, (list, tuple)):
        inner = validator
    if inner is None:
        return [validator]
    return [leaf for one in inner for leaf in _flatten(one)]


def _type_hints(cls):
    try:
        return typing.get_type_hints(cls, include_extras=True)
    except Exception:
        # A forward reference that does not resolve: fall back to attrs' own.
        return {}


def _doc(obj):
    doc = obj.__doc__
    if not doc:
        return ""
    # attrs writes no docstring of its own; a class's is the user's.
    return " ".join(doc.strip().split("\n\n")[0].split())


def _enum_type(values):
    kinds = {_json_type(v) for v in values}
    return {"type": kinds.pop()} if len(kinds) == 1 else {}


def _json_type(value):
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, enum.Enum):
        return _json_type(value.value)
    return "string"


def _json_value(value):
    return value.value if isinstance(value, enum.Enum) else value


def _is_json(value):
    try:
        json.dumps(_json_value(value))
    except (TypeError, ValueError):
        return False
    return True


def first_paragraph(obj):
    """The first paragraph of ``obj``'s docstring on one line, or ``""``."""
    return _doc(obj)


def identifier(text):
    """``text`` as an AsyncAPI component or channel key (letters, digits, ``.``, ``-``, ``_``)."""
    return re.sub(r"[^\w.\-]+", "_", text).strip("_") or "_"
