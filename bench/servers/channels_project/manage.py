#!/usr/bin/env python
"""Django Channels 4 bench project; served by daphne: ``daphne benchchannels.asgi:application``."""
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchchannels.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
