"""One log line per message received, as django-socketio's SOCKETIO_MESSAGE_LOG_FORMAT gave (see the docs page)."""
import logging

from django.dispatch import receiver

from socketio_views.signals import message_received

logger = logging.getLogger("chat.messages")


@receiver(message_received)
def log_message(sender, view, event, data, **kwargs):
    """Log who sent which event on which channel, with its data."""
    address = view.request.META.get("REMOTE_ADDR")
    logger.info('%s "Socket.IO %s on %s: %s"', address, event, view.channel, data)
