"""
Class-based channels: one :class:`ChannelView` instance serves one subscription.

Example usage::

    from socketio_views import ChannelView

    class RoomChannel(ChannelView):
        def on_subscribe(self, room):
            self.broadcast({"joined": self.request.user.get_username()})

        def on_message(self, data, room):
            self.broadcast(data)
            return {"ok": True}
"""
import re

from django.core.exceptions import ImproperlyConfigured

from . import payloads
from .conf import views_settings
from .exceptions import SubscriptionRefused, UnknownEvent
from .history import Policy
from .queues import POLICIES
from .transport import acks


#: Event names a client can never emit: Socket.IO's own lifecycle events and
#: the names of this framework's hooks.
RESERVED_EVENTS = frozenset(
    {
        "connect",
        "connect_error",
        "disconnect",
        "disconnecting",
        "newListener",
        "removeListener",
        "subscribe",
        "unsubscribe",
        "error",
    }
)

#: Event names the server may not send (it may send "error").
UNSENDABLE_EVENTS = RESERVED_EVENTS - {"error"}

#: A legal client event name: a letter, then letters, digits or underscores.
EVENT_NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,99}\Z")

HANDLER_PREFIX = "on_"

#: What :meth:`ChannelView.setup` sets on each instance; a subclass may not
#: define attributes of these names.
SUBSCRIPTION_ATTRIBUTES = frozenset(
    {
        "hub",
        "request",
        "channel",
        "sid",
        "connection_id",
        "args",
        "kwargs",
        "auth",
        "disconnect_reason",
        "recovered",
        "recovery_failure",
    }
)


def is_client_event(event):
    """Return whether a client may emit ``event`` at all (its name is legal and not reserved)."""
    return (
        isinstance(event, str)
        and EVENT_NAME_RE.match(event) is not None
        and event not in RESERVED_EVENTS
    )


def handled_events(view_class):
    """The client events ``view_class`` dispatches to a handler (a mapping whose keys are the event names)."""
    return view_class._ChannelView__handler_names


class ChannelView:
    """Serve one client's subscription to one channel.

    Subclass it per feature, as you would ``django.views.View``, and declare
    handlers:

    * ``on_subscribe(*args, **kwargs)`` runs when a client subscribes; raise
      ``django.core.exceptions.PermissionDenied`` (or return ``False``) to refuse.
    * ``on_<event>(data, *args, **kwargs)`` runs for each client event
      ``<event>``; its return value becomes the acknowledgement.
    * ``on_disconnect(*args, **kwargs)`` runs once when the subscription ends,
      whatever the reason.
    * ``after_subscribe(*args, **kwargs)`` and ``after_disconnect(*args, **kwargs)``
      run once the subscription has started (every check and mixin done) and
      once it has ended (every mixin's teardown done).

    ``args`` and ``kwargs`` are what the channel pattern captured, like a
    view's URL arguments. During a subscription the instance has ``request``,
    ``channel``, ``args``, ``kwargs``, ``sid`` (this subscription),
    ``connection_id`` (the client's connection, shared by its subscriptions),
    ``auth`` and ``hub``; a subclass may not define attributes of these names.
    """

    #: Events dispatched to handlers, built from the ``on_<event>`` methods.
    #: Set it to a collection of names to allow fewer.
    event_names = None
    #: The cattrs converter of typed payloads (see :mod:`socketio_views.payloads`).
    payload_converter = payloads.converter
    #: Broadcasts kept per channel, for recovery and newcomers (``None``: the
    #: ``HISTORY`` setting, 0 by default: none). See :mod:`socketio_views.history`.
    history = None
    #: Seconds the history is kept after the channel's last broadcast (``None``: ``HISTORY_TTL``).
    history_ttl = None
    #: Seconds after a disconnection during which the client may recover (``None``: ``RECOVERY_WINDOW``).
    recovery_window = None
    #: How many of the last broadcasts a new (not recovered) subscriber receives.
    send_history_on_subscribe = 0
    #: The events kept in history (``None``: every event broadcast on the
    #: channel); ephemeral ones, such as typing notices, are better left out.
    history_events = None
    #: What happens to a message that does not fit in a slow subscriber's
    #: queue: ``"disconnect"`` ends that connection with code
    #: ``slow_consumer`` (it reconnects and, with history, recovers);
    #: ``"drop"`` drops the message for that subscriber (tickers). See
    #: :mod:`socketio_views.queues`.
    slow_consumer_policy = "disconnect"
    #: The events this view sends and their payload types (``{"message": ChatPost}``): sends of
    #: them are checked (see :mod:`socketio_views.outgoing`) and ``manage.py channels_schema`` lists them.
    emits = None

    def __init__(self, **kwargs):
        for key, value in kwargs.items():
            setattr(self, key, value)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.__check_names()
        cls.__check_mixin_order()
        payloads.check_emits_declaration(cls, UNSENDABLE_EVENTS)
        cls.__handler_names = cls.__collect_handlers()
        cls.__payload_types = {
            event: payload_type
            for event, name in cls.__handler_names.items()
            if (payload_type := payloads.payload_type(getattr(cls, name))) is not None
        }

    @classmethod
    def __check_names(cls):
        taken = sorted(SUBSCRIPTION_ATTRIBUTES & set(vars(cls)))
        if taken:
            raise ImproperlyConfigured(
                f"{cls.__name__} defines {', '.join(taken)}, which ChannelView sets for each "
                f"subscription ({', '.join(sorted(SUBSCRIPTION_ATTRIBUTES))}). Rename "
                f"{'it' if len(taken) == 1 else 'them'}, e.g. {taken[0]}_name."
            )

    @classmethod
    def __check_mixin_order(cls):
        mro = cls.__mro__
        misplaced = [
            base for base in mro[mro.index(ChannelView) + 1 :] if base.__module__ == "socketio_views.mixins"
        ]
        # Name the mixins the class listed, not their bases (AccessMixin).
        late = [
            base.__name__
            for base in misplaced
            if not any(other is not base and issubclass(other, base) for other in misplaced)
        ]
        if late:
            raise ImproperlyConfigured(
                f"{cls.__name__} lists {', '.join(late)} after ChannelView, where they never run. "
                f"Put mixins before ChannelView: class {cls.__name__}({', '.join(late)}, ..., ChannelView)."
            )

    @classmethod
    def __collect_handlers(cls):
        handlers = {}
        for name in dir(cls):
            if not name.startswith(HANDLER_PREFIX):
                continue
            event = name[len(HANDLER_PREFIX):]
            if is_client_event(event) and callable(getattr(cls, name)):
                handlers[event] = name
        if cls.event_names is not None:
            handlers = {e: n for e, n in handlers.items() if e in cls.event_names}
        return handlers

    def get_history(self):
        """Return how many broadcasts each channel keeps (0: none)."""
        return views_settings.HISTORY if self.history is None else self.history

    def get_history_ttl(self):
        """Return the seconds a channel's history outlives its last broadcast."""
        return views_settings.HISTORY_TTL if self.history_ttl is None else self.history_ttl

    def get_recovery_window(self):
        """Return the seconds during which a disconnected client may recover its subscription."""
        return views_settings.RECOVERY_WINDOW if self.recovery_window is None else self.recovery_window

    def get_send_history_on_subscribe(self):
        """Return how many of the last broadcasts a new subscriber receives."""
        return self.send_history_on_subscribe

    def get_history_events(self):
        """Return the events kept in history, or ``None`` for every event."""
        return self.history_events

    def get_slow_consumer_policy(self):
        """Return ``"disconnect"`` or ``"drop"``: what a message that does not fit in a slow subscriber's queue does."""
        if self.slow_consumer_policy not in POLICIES:
            raise ImproperlyConfigured(
                f"{type(self).__name__}.slow_consumer_policy is {self.slow_consumer_policy!r}; "
                f"use one of {', '.join(map(repr, POLICIES))}."
            )
        return self.slow_consumer_policy

    def get_history_policy(self):
        """The channel's :class:`~socketio_views.history.Policy`, or ``None`` without history."""
        size = self.get_history()
        if not size:
            return None
        events = self.get_history_events()
        return Policy(
            size=int(size),
            ttl=self.get_history_ttl(),
            window=self.get_recovery_window(),
            events=None if events is None else frozenset(events),
        )

    @classmethod
    def allowed_events(cls):
        """The client events this class dispatches: ``{event: handler method name}``."""
        return dict(cls.__handler_names)

    @classmethod
    def check_initkwargs(cls, initkwargs):
        """Refuse keyword arguments that are not class attributes, as ``View.as_view()`` does."""
        for key in initkwargs:
            if not hasattr(cls, key):
                raise TypeError(
                    f"{cls.__name__}() received an invalid keyword {key!r}. "
                    f"Only attributes already defined on the class can be set "
                    f"when registering a channel."
                )

    # The steps of a subscription, called by socketio_views.dispatch. Mixins
    # override subscribe(), dispatch() and teardown() and call super().

    def setup(self, *, hub, request, channel, sid, connection_id=None, args=(), kwargs=None, auth=None):
        """Attach the subscription's context; called before :meth:`subscribe`."""
        self.hub = hub
        self.request = request
        self.channel = channel
        self.sid = sid
        self.connection_id = connection_id
        self.args = tuple(args)
        self.kwargs = dict(kwargs or {})
        self.auth = auth if auth is not None else {}
        #: Whether this subscription recovered a dropped one (see :mod:`socketio_views.history`).
        self.recovered = False
        #: Why a recovery was refused (``"unknown_session"``, ``"history_lost"``...), else ``None``.
        self.recovery_failure = None

    def subscribe(self):
        """Run the subscription's checks, then :meth:`on_subscribe`.

        Access mixins override this to refuse before ``on_subscribe`` runs.
        """
        if self.on_subscribe(*self.args, **self.kwargs) is False:
            raise SubscriptionRefused()

    def check_access(self):
        """Run this subscription's access checks again; raise a :class:`~socketio_views.exceptions.ChannelError` to end it.

        Called on every subscription of a user when that user is saved,
        deleted, or loses a permission or a group (see
        :mod:`socketio_views.revocation`), with ``self.request.user`` read
        afresh. The access mixins run their check here as in
        :meth:`subscribe`; this one checks nothing. Override it, calling
        ``super()``, to run a rule of your own again::

            def check_access(self):
                super().check_access()
                if self.request.user.profile.banned:
                    raise PermissionDenied("Banned.")

        The subscription then ends with code ``access_revoked``.
        """

    def dispatch(self, event, data):
        """Deliver client event ``event`` to its handler and return what the handler returns.

        A handler whose payload is annotated with an attrs class receives an
        instance of it, or raises :class:`~socketio_views.exceptions.InvalidPayload`.
        """
        handler = self.get_handler(event)
        payload_type = self.__payload_types.get(event)
        if payload_type is not None:
            data = payloads.structure(data, payload_type, self.payload_converter)
        return handler(data, *self.args, **self.kwargs)

    def teardown(self, reason):
        """End the subscription; runs :meth:`on_disconnect`."""
        self.disconnect_reason = reason
        return self.on_disconnect(*self.args, **self.kwargs)

    def get_handler(self, event):
        """Return the bound handler for ``event`` or raise :class:`~socketio_views.exceptions.UnknownEvent`."""
        name = self.__handler_names.get(event)
        if name is None:
            raise UnknownEvent(
                f"Channel {self.channel!r} does not handle event {event!r}."
            )
        return getattr(self, name)

    # Hooks for subclasses.

    def on_subscribe(self, *args, **kwargs):
        """Accept the subscription (the default). Return ``False`` or raise to refuse."""

    def after_subscribe(self, *args, **kwargs):
        """Called once the subscription has started: every check passed and every mixin joined.

        What it sends reaches the client after ``on_subscribe``'s sends.
        Exceptions are logged; the subscription stays.
        """

    def on_disconnect(self, *args, **kwargs):
        """Called once when the subscription ends; ``self.disconnect_reason`` says why."""

    def after_disconnect(self, *args, **kwargs):
        """Called once the subscription has ended, after ``on_disconnect`` and every mixin's teardown.

        Exceptions are logged.
        """

    # What a handler can do.

    def send(self, data, event="message", callback=None):
        """Send ``event`` with ``data`` to this subscriber only.

        With ``callback``, the client is asked for an acknowledgement, and
        ``callback`` is called with what the client acknowledges.
        """
        self.hub.emit(
            event,
            data,
            channel=self.channel,
            to=self.sid,
            callback=callback and acks.guarded(callback, self),
            converter=self.payload_converter,
        )

    def broadcast(self, data, event="message", include_self=True, *, history=True):
        """Send ``event`` with ``data`` to every subscriber of this channel.

        With ``include_self=False`` every subscriber but this one receives it.
        On a channel with ``history``, the broadcast is kept (and carries its
        offset) unless ``history=False``.
        """
        self.hub.emit(
            event,
            data,
            channel=self.channel,
            skip_sid=None if include_self else self.sid,
            converter=self.payload_converter,
            history=history,
        )

    def broadcast_on_commit(self, data, event="message", include_self=True, using=None):
        """:meth:`broadcast` once the current database transaction commits; never if it rolls back."""
        from django.db import transaction

        transaction.on_commit(lambda: self.broadcast(data, event, include_self), using=using)

    def unsubscribe(self):
        """End this subscription from the server; the client's connection stays open."""
        self.hub.unsubscribe(self.channel, self.sid)

    def disconnect(self):
        """Close the client's whole connection, with all its subscriptions."""
        self.hub.disconnect(self.channel, self.sid)

    def __repr__(self):
        channel = getattr(self, "channel", None)
        return f"<{type(self).__name__} channel={channel!r} sid={getattr(self, 'sid', None)!r}>"


ChannelView._ChannelView__handler_names = ChannelView._ChannelView__collect_handlers()
ChannelView._ChannelView__payload_types = {}
