from django.apps import AppConfig


class SocketIOViewsConfig(AppConfig):
    """Django application of socketio_views: its management command, system checks, logout and revocation receivers and the live channels page's sampler."""

    name = "socketio_views"
    verbose_name = "Socket.IO views"

    def ready(self):
        from . import checks  # noqa: F401  (registers the system checks)
        from . import db  # noqa: F401  (notes which greenlets open database connections)
        from .logout import connect_receivers
        from .live import connect_receivers as connect_live_receivers
        from .revocation import connect_receivers as connect_revocation_receivers

        connect_receivers()
        connect_live_receivers()
        connect_revocation_receivers()
