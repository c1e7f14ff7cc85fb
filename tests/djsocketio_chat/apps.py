from django.apps import AppConfig


class DjangoSocketioChatConfig(AppConfig):
    """django-socketio's example chat, served by socketio_views.compat (see events.py)."""

    name = "tests.djsocketio_chat"
    label = "djsocketio_chat"
    default_auto_field = "django.db.models.AutoField"

    def ready(self):
        from . import logs  # noqa: F401 (connects the message_received receiver)
