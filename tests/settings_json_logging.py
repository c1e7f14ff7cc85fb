"""The test settings with docs/examples/json_logging.py's LOGGING: JSON lines with the structured fields."""
import runpy
from pathlib import Path

from .settings import *  # noqa: F401,F403

LOGGING = runpy.run_path(str(Path(__file__).resolve().parent.parent / "docs" / "examples" / "json_logging.py"))["LOGGING"]
