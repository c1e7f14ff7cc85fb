from django.urls import register_converter

from socketio_views import ChannelRouter

from . import channels


class YearConverter:
    regex = "[0-9]{4}"

    def to_python(self, value):
        return int(value)

    def to_url(self, value):
        return f"{value:04d}"


register_converter(YearConverter, "yyyy")

router = ChannelRouter()
router.register("rooms/<slug:room>", channels.RoomChannel, name="room")
router.register("items/<int:item_id>", channels.ConvertersChannel)
router.register("objects/<uuid:key>", channels.ConvertersChannel)
router.register("files/<path:filename>", channels.ConvertersChannel)
router.register("archive/<yyyy:year>", channels.ConvertersChannel, name="archive")
router.register(r"^legacy/(?P<code>[A-Z]{3})$", channels.ConvertersChannel, regex=True)
router.register("private/<str:key>", channels.PrivateChannel)
router.register("closed/<str:name>", channels.ClosedChannel)
router.register("broken/<str:name>", channels.BrokenChannel)
router.register("db/<int:n>", channels.DatabaseChannel)
router.register("signals/<str:name>", channels.SignalsChannel)
router.register("members/<slug:room>", channels.MembersChannel)
router.register("moderators/<slug:room>", channels.ModeratorsChannel)
router.register("vip/<slug:room>", channels.VipChannel)
router.register("limited/<str:name>", channels.LimitedChannel)
router.register("burst/<str:name>", channels.BurstChannel)
router.register("per-user/<str:name>", channels.PerUserLimitedChannel)
router.register("stacked/<str:name>", channels.StackedChannel)
router.register("typed/<str:name>", channels.TypedChannel)
router.register("presence/<slug:room>", channels.PresenceChannel)
router.register("ip-limited/<str:name>", channels.IpLimitedChannel)
router.register("user-or-ip-limited/<str:name>", channels.UserOrIpLimitedChannel)
router.register("acks/<str:name>", channels.AcksChannel)
router.register("history/<str:room>", channels.HistoryChannel)
router.register("reasons/<str:name>", channels.ReasonsChannel)
router.register("short-history/<str:room>", channels.ShortHistoryChannel)
router.register("flood/<str:name>", channels.FloodChannel)
router.register("ticker/<str:name>", channels.TickerChannel)
router.register("slow-teardown/<str:room>", channels.SlowTeardownChannel)
router.register("goodbye/<slug:room>", channels.CostlyGoodbyeChannel)
router.register("welcome/<slug:room>", channels.CostlyWelcomeChannel)
router.register("slow-welcome/<slug:room>", channels.SlowWelcomeChannel)
router.register("contracts/<str:name>", channels.ContractsChannel, name="contracts")
router.register("idempotent/<str:name>", channels.IdempotentChannel)
