# [apps]
# chat/apps.py
from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "chat"

    def ready(self):
        from . import receivers  # noqa: F401
# [/apps]
