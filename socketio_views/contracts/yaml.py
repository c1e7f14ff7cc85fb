"""
YAML output of JSON data, without a YAML library.

Example usage::

    from socketio_views.contracts.yaml import dump
    print(dump({"asyncapi": "3.0.0", "channels": {}}))

Block style for objects and arrays, and every string value double-quoted
with JSON's escapes (which YAML's double-quoted scalars share), so that no
string can be read back as a number, a boolean or null; keys are plain only
when they are names that no YAML version reads as anything but a string
(``address``, ``$ref``, ``x-pattern``). A YAML parser reads back exactly the
data :func:`json.dumps` would have written.
"""
import json
import re


def dump(data):
    """Return ``data`` (JSON types only) as a YAML document."""
    return "\n".join(_lines(data, 0)) + "\n"


#: Characters YAML does not allow as they are in a double-quoted scalar (or
#: reads as line breaks), escaped where JSON would leave them.
_UNPRINTABLE = re.compile("[\x7f-\x9f\u2028\u2029\ud800-\udfff\ufffe\uffff]")


#: A key written without quotes: a name, starting with a letter, ``_`` or ``$``.
_PLAIN_KEY = re.compile(r"[A-Za-z_$][A-Za-z0-9_.$-]*\Z")
#: Names that YAML 1.1 or 1.2 reads as booleans or null.
_SPECIAL_WORDS = frozenset({"y", "n", "yes", "no", "on", "off", "true", "false", "null"})


def _key(key):
    if not isinstance(key, str):
        raise TypeError(f"Key {key!r} must be a string.")
    if _PLAIN_KEY.match(key) and key.lower() not in _SPECIAL_WORDS:
        return key
    return _string(key)


def _string(value):
    return _UNPRINTABLE.sub(lambda match: f"\\u{ord(match[0]):04x}", json.dumps(value, ensure_ascii=False))


def _scalar(value):
    if isinstance(value, str):
        return _string(value)
    if value is None or isinstance(value, (bool, int, float)):
        # json.dumps spells null, true, false and numbers as YAML 1.2 does.
        return json.dumps(value, allow_nan=False)
    raise TypeError(f"{value!r} (a {type(value).__name__}) is not JSON data.")


def _lines(data, indent):
    pad = " " * indent
    if isinstance(data, dict) and data:
        for key, value in data.items():
            if _is_block(value):
                yield f"{pad}{_key(key)}:"
                yield from _lines(value, indent + 2)
            else:
                yield f"{pad}{_key(key)}: {_inline(value)}"
    elif isinstance(data, list) and data:
        for value in data:
            if _is_block(value):
                nested = list(_lines(value, indent + 2))
                yield f"{pad}- {nested[0].lstrip()}"
                yield from nested[1:]
            else:
                yield f"{pad}- {_inline(value)}"
    else:
        yield pad + _inline(data)


def _is_block(value):
    return isinstance(value, (dict, list)) and bool(value)


def _inline(value):
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list):
        return "[]"
    return _scalar(value)
