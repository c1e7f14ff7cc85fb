"""docs/server.rst: a custom entry point, patched before anything imports Django."""
# [entry-point]
from socketio_views.monkey import patch

patch()

import os  # noqa: E402

from django.core.management import execute_from_command_line  # noqa: E402

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "myproject.settings")
execute_from_command_line(["manage.py", "runserver_socketio", "--noreload"])
# [/entry-point]
