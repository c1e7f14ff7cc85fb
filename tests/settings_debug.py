"""The test settings as a new project has them: DEBUG on and Django's default LOGGING (no LOGGING setting)."""
from .settings import *  # noqa: F401,F403

DEBUG = True
del LOGGING  # noqa: F821
