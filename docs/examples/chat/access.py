"""docs/security.rst: the access mixins, and mixins stacked in order."""
# [access]
from socketio_views import ChannelView
from socketio_views.mixins import (
    LoginRequiredMixin,
    PermissionRequiredMixin,
    UserPassesTestMixin,
)


class MembersChannel(LoginRequiredMixin, ChannelView):
    ...


class ModeratorsChannel(PermissionRequiredMixin, ChannelView):
    permission_required = ("chat.view_report", "chat.delete_message")
    permission_denied_message = "Moderators only."


class TeamChannel(UserPassesTestMixin, ChannelView):
    """teams/<slug:team>: the members of the team's group only."""

    def test_func(self):
        return self.request.user.groups.filter(name=self.kwargs["team"]).exists()
# [/access]

from socketio_views.mixins import RateLimitMixin  # noqa: E402


class StaffRoom(
    LoginRequiredMixin, PermissionRequiredMixin, RateLimitMixin, ChannelView
):
    permission_required = "chat.join_staff_room"
    rate_limit = "5/s"
