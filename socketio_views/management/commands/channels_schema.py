"""
``manage.py channels_schema``: the contract of the project's channels, as an
AsyncAPI 3.0 document (JSON or YAML) or TypeScript declarations for socket.io-client.

Example usage::

    python manage.py channels_schema > asyncapi.json
    python manage.py channels_schema --format yaml --output asyncapi.yaml
    python manage.py channels_schema --format typescript --output src/channels.ts
"""
import json

from django.core.management import BaseCommand, CommandError

from socketio_views.contracts import describe
from socketio_views.contracts.asyncapi import asyncapi_document
from socketio_views.contracts.typescript import typescript_declarations
from socketio_views.contracts.yaml import dump


class Command(BaseCommand):
    """Write the AsyncAPI document or the TypeScript declarations of every ChannelRouter in the URLconf."""

    help = (
        "Write the contract of the project's channels: an AsyncAPI 3.0 document (JSON, or YAML with "
        "--format yaml), or TypeScript declarations for socket.io-client's typed sockets (--format typescript)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--format", choices=["json", "yaml", "typescript"], default="json", help="Output format (default: json).")
        parser.add_argument("--output", "-o", help="Write to this file instead of standard output.")
        parser.add_argument("--title", default=None, help="The document's title (default: '<project> channels').")
        parser.add_argument("--api-version", default="1.0.0", help="The API's version in the document (default: 1.0.0).")
        parser.add_argument("--host", default="localhost:8000", help="The host[:port] clients connect to (default: localhost:8000).")
        parser.add_argument("--protocol", choices=["ws", "wss"], default="ws", help="ws or wss (default: ws).")

    def handle(self, *args, **options):
        channels = describe()
        if not channels:
            raise CommandError("No ChannelRouter with a registered channel is included in ROOT_URLCONF.")
        if options["format"] == "typescript":
            text = typescript_declarations(channels)
        else:
            document = asyncapi_document(
                channels,
                title=options["title"] or f"{_project_name()} channels",
                version=options["api_version"],
                host=options["host"],
                protocol=options["protocol"],
            )
            text = dump(document) if options["format"] == "yaml" else json.dumps(document, indent=2) + "\n"
        if options["output"]:
            with open(options["output"], "w", encoding="utf-8") as output:
                output.write(text)
        else:
            self.stdout.write(text, ending="")


def _project_name():
    from django.conf import settings

    return settings.ROOT_URLCONF.split(".")[0]
