"""docs/security.rst: RateLimitMixin."""
from socketio_views import ChannelView

# [rate-limit]
from socketio_views.mixins import RateLimitMixin


class RoomChannel(RateLimitMixin, ChannelView):
    rate_limit = "5/s"
    rate_limit_burst = 10
    rate_limit_scope = "user"

    def on_message(self, data, room):
        ...
# [/rate-limit]
