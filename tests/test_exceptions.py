"""Every error code is defined once, in socketio_views.exceptions, and documented once, in docs/errors.rst."""
import re
from pathlib import Path

from socketio_views import exceptions

ROOT = Path(__file__).resolve().parent.parent


def error_classes():
    found, pending = [], [exceptions.ChannelError]
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return [cls for cls in found if cls.__module__ == exceptions.__name__]


def documented_codes():
    text = (ROOT / "docs" / "errors.rst").read_text()
    return re.findall(r"^   \* - ``([a-z_]+)``$", text, flags=re.MULTILINE)


def test_the_error_table_lists_every_code_once():
    """docs/errors.rst has one row per default_code of the exception classes, and no other."""
    codes = documented_codes()
    assert sorted(codes) == sorted(set(codes)), "a code is listed twice"
    assert set(codes) - {"code"} == {cls.default_code for cls in error_classes()}


def test_the_table_names_the_class_of_each_code():
    """Each row names the exception class that sends its code."""
    text = (ROOT / "docs" / "errors.rst").read_text()
    rows = dict(re.findall(r"^   \* - ``([a-z_]+)``\n(.*?)(?=^   \* - |\Z)", text, flags=re.MULTILINE | re.DOTALL))
    for cls in error_classes():
        assert cls.__name__ in rows[cls.default_code], f"{cls.__name__} is not named in the row of {cls.default_code}"


def test_no_code_is_a_bare_string_outside_exceptions():
    """The package passes no code="..." literal and writes no "code": "..." JSON outside exceptions.py."""
    offenders = []
    for path in (ROOT / "socketio_views").rglob("*.py"):
        if path.name == "exceptions.py":
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(r"""code=["']|["']code["']\s*:\s*["']""", line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == []
