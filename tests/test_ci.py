"""The decision that turns a missing requirement (Redis, Chromium) into a failure in CI instead of a skip."""
import pytest

from .ci import in_ci, require


@pytest.mark.parametrize("value", ["true", "TRUE", "True", "1", "yes", "on", "github-actions", " true "])
def test_a_true_ish_ci_variable_means_ci(value):
    """Any non-empty CI value other than 0 or false, in any case, means the suite runs in CI."""
    assert True is in_ci({"CI": value})


@pytest.mark.parametrize("environ", [{}, {"CI": ""}, {"CI": "0"}, {"CI": "false"}, {"CI": "FALSE"}, {"CI": " False "}])
def test_an_unset_empty_or_false_ci_variable_means_not_ci(environ):
    """CI unset, empty, 0 or false (in any case) means the suite does not run in CI."""
    assert False is in_ci(environ)


def outcome_of_require(condition, reason):
    """What ``require`` did: ``("Failed" or "Skipped", message)``, or ``None`` if it returned."""
    try:
        require(condition, reason)
    except (pytest.fail.Exception, pytest.skip.Exception) as outcome:
        return type(outcome).__name__, str(outcome)
    return None


@pytest.mark.parametrize("value", ["true", "1", "yes"])
def test_require_fails_in_ci(monkeypatch, value):
    """In CI, a missing requirement fails the test with the reason."""
    monkeypatch.setenv("CI", value)
    expected = ("Failed", f"Redis is not reachable (required in CI, CI={value!r})")
    assert expected == outcome_of_require(False, "Redis is not reachable")


@pytest.mark.parametrize("value", ["", "0", "false"])
def test_require_skips_outside_ci(monkeypatch, value):
    """Outside CI, a missing requirement skips the test with the reason."""
    monkeypatch.setenv("CI", value)
    assert ("Skipped", "Redis is not reachable") == outcome_of_require(False, "Redis is not reachable")


def test_require_does_nothing_when_the_requirement_is_met(monkeypatch):
    """A met requirement neither skips nor fails, in CI or not."""
    monkeypatch.setenv("CI", "true")
    assert None is outcome_of_require(True, "unused")
    monkeypatch.delenv("CI")
    assert None is outcome_of_require(True, "unused")
