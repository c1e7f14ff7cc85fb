# [receivers]
# chat/receivers.py
import logging

from django.dispatch import receiver

from socketio_views.signals import subscribed, subscription_refused, unsubscribed

from .channels import RoomChannel

logger = logging.getLogger("chat")


@receiver(subscribed, sender=RoomChannel)
def room_joined(sender, view, **kwargs):
    logger.info("%s joined %s", view.request.user, view.channel)


@receiver(unsubscribed, sender=RoomChannel)
def room_left(sender, view, reason, **kwargs):
    logger.info("%s left %s (%s)", view.request.user, view.channel, reason)


@receiver(subscription_refused)
def turned_away(sender, channel, error, request, **kwargs):
    logger.warning("%s refused %s: %s", request.user, channel, error.code)
# [/receivers]
