"""docs/security.rst: a view's own cattrs converter."""
import attrs

from socketio_views import ChannelView

# [converter]
from datetime import datetime

from socketio_views.payloads import make_converter

converter = make_converter()
converter.register_structure_hook(
    datetime, lambda value, _: datetime.fromisoformat(value)
)
converter.register_unstructure_hook(datetime, datetime.isoformat)


@attrs.define
class Meeting:
    title: str
    starts: datetime


class CalendarChannel(ChannelView):
    payload_converter = converter

    def on_schedule(self, meeting: Meeting):
        return meeting          # {"title": ..., "starts": "2025-01-02T10:00:00"}
# [/converter]
