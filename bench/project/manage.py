#!/usr/bin/env python
"""The socketio_views bench project: ``python manage.py runserver_socketio --noreload 127.0.0.1:PORT``."""
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchproject.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
