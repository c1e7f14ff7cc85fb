from django.apps import AppConfig


class TestAppConfig(AppConfig):
    name = "tests.testapp"

    def ready(self):
        from . import views  # noqa: F401 (counts requests from start-up on)
