"""
``.. channels-schema:: FORMAT``: the demo's ``manage.py channels_schema --format FORMAT``
output (``json``, ``yaml`` or ``typescript``), generated when the page is built.

The command runs in demo/ with the demo's settings, in a process of its own
(this build has configured Django with the test project's); a page that uses
the directive is rebuilt when the demo's channels change.
"""
import os
import subprocess
import sys
from pathlib import Path

from docutils import nodes
from sphinx.util.docutils import SphinxDirective

DEMO = Path(__file__).resolve().parent.parent / "demo"
LANGUAGES = {"json": "json", "yaml": "yaml", "typescript": "typescript"}


class ChannelsSchema(SphinxDirective):
    """Insert the demo's generated contract as a literal block."""

    required_arguments = 1

    def run(self):
        fmt = self.arguments[0]
        if fmt not in LANGUAGES:
            raise self.error(f"channels-schema takes one of {', '.join(LANGUAGES)}, not {fmt!r}.")
        env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
        result = subprocess.run(
            [sys.executable, "manage.py", "channels_schema", "--format", fmt],
            cwd=DEMO, env=env, capture_output=True, text=True, timeout=120,
        )
        if result.returncode != 0:
            raise self.error(f"manage.py channels_schema failed in demo/:\n{result.stderr}")
        for source in ("chat/channels.py", "chat/routing.py"):
            self.env.note_dependency(str(DEMO / source))
        block = nodes.literal_block(result.stdout, result.stdout)
        block["language"] = LANGUAGES[fmt]
        return [block]


def setup(app):
    app.add_directive("channels-schema", ChannelsSchema)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
