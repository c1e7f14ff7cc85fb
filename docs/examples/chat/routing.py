"""The router of docs/routing.rst."""
# [router]
# chat/routing.py
from socketio_views import ChannelRouter

from . import channels

router = ChannelRouter()
router.register("rooms/<slug:room>", channels.RoomChannel, name="room")
router.register("users/<int:user_id>/inbox", channels.InboxChannel)
router.register("documents/<uuid:key>", channels.DocumentChannel)
# [/router]

from .channels import ArchiveChannel, LegacyChannel  # noqa: E402

# [converter]
from django.urls import register_converter

class YearConverter:
    regex = "[0-9]{4}"

    def to_python(self, value):
        return int(value)

    def to_url(self, value):
        return f"{value:04d}"

register_converter(YearConverter, "yyyy")

router.register("archive/<yyyy:year>", ArchiveChannel, name="archive")
# [/converter]

# [regex]
router.register(r"^legacy/(?P<code>[A-Z]{3})$", LegacyChannel, regex=True)
# [/regex]

router.register("prices/<str:symbol>", channels.PriceChannel)
router.register("readonly/<slug:room>", channels.ReadOnlyRoom)
