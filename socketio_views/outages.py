"""
One warning per outage of a shared service (Redis), not one per message.

Example usage, one ``Outage`` per service, for the life of the process::

    _outage = Outage("Presence", "channels list nobody and count 0")

    def members(channel):
        try:
            entries = redis.zrange(...)
        except Exception as exc:
            _outage.failed(exc)
            return []
        _outage.succeeded()
        return entries
"""
from .logs import logger


class Outage:
    """The state of one service: a warning when it fails, another when it works again.

    :param what: what is unavailable (``"Presence"``).
    :param meanwhile: what users get until it is back (``"channels list nobody"``).
    """

    def __init__(self, what, meanwhile):
        self.what = what
        self.meanwhile = meanwhile
        self.down = False

    def failed(self, exc):
        """Record a failure; the first of an outage is logged."""
        if not self.down:
            self.down = True
            logger.warning(
                "%s unavailable (%s: %s); %s until it is back.", self.what, type(exc).__name__, exc, self.meanwhile
            )

    def succeeded(self):
        """Record a success; the first after an outage is logged."""
        if self.down:
            self.down = False
            logger.warning("%s is available again.", self.what)
