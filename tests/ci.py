"""Whether the suite runs in CI, where everything the tests need must be installed."""
import os

import pytest

#: Values of ``CI`` that mean "not in CI" (compared case-insensitively); an unset or empty ``CI`` too.
NOT_CI = {"0", "false"}


def in_ci(environ=None):
    """Whether ``CI`` is set to a true-ish value: anything but empty, ``0`` or ``false``, in any case."""
    value = (os.environ if environ is None else environ).get("CI", "").strip().lower()
    return value not in NOT_CI and value != ""


def require(condition, reason):
    """Skip when something the test needs is missing, but fail in CI, where it must be there."""
    if not condition:
        if in_ci():
            pytest.fail(f"{reason} (required in CI, CI={os.environ.get('CI')!r})")
        pytest.skip(reason)
