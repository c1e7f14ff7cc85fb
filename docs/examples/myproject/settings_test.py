"""docs/testing.rst's ``myproject.settings_test``: here, the test suite's settings."""
from tests.settings import *  # noqa: F401,F403
