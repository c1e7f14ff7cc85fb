"""Tools to test channels: a real server for end-to-end tests."""
from .live import LiveServer, LiveServerError

__all__ = ["LiveServer", "LiveServerError"]
