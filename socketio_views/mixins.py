"""
Mixins that add checks to a :class:`~socketio_views.ChannelView`, named after
``django.contrib.auth.mixins``. Put them leftmost::

    class StaffRoom(LoginRequiredMixin, PermissionRequiredMixin, RateLimitMixin, ChannelView):
        permission_required = "chat.join_staff_room"
        rate_limit = "5/s"

Access mixins refuse the subscription before ``on_subscribe`` runs, through
one hook, :meth:`AccessMixin.handle_no_permission`: anonymous users get code
``login_required``, authenticated users without permission
``permission_denied``. They run the same check again, through
:meth:`~socketio_views.views.ChannelView.check_access`, when the user is
saved or loses a permission or a group (:mod:`socketio_views.revocation`).
:class:`EventPermissionMixin` refuses single events the same way, before
their handler runs.
"""
from django.core.exceptions import ImproperlyConfigured
from django.utils.crypto import salted_hmac

from . import drain, idempotency
from .clients import client_address, limit_key
from .exceptions import LoginRequired, PermissionRefused, RateLimited
from .presence import get_presence, get_presence_ticks
from .throttling import RateLimiter
from .views import ChannelView


def _refuse(view):
    # Access checks cannot fail open: an override of handle_no_permission()
    # that returns instead of raising refuses all the same.
    view.handle_no_permission()
    raise PermissionRefused(view.get_permission_denied_message())


class AccessMixin:
    """Refuse subscriptions through :meth:`handle_no_permission`."""

    #: The message of a refusal to an authenticated user.
    permission_denied_message = ""
    #: The message of a refusal to an anonymous user.
    login_required_message = "Log in to subscribe to this channel."

    def get_permission_denied_message(self):
        """Override this to change the message of ``permission_denied`` refusals."""
        return self.permission_denied_message or "You do not have permission to subscribe to this channel."

    def get_login_required_message(self):
        """Override this to change the message of ``login_required`` refusals."""
        return self.login_required_message

    def handle_no_permission(self):
        """Refuse: raise :exc:`~socketio_views.exceptions.LoginRequired` for anonymous users,
        :exc:`~socketio_views.exceptions.PermissionRefused` otherwise.

        Override it to refuse with another error; an override that returns
        instead of raising still refuses, with ``permission_denied``.
        """
        if self.request.user.is_authenticated:
            raise PermissionRefused(self.get_permission_denied_message())
        raise LoginRequired(self.get_login_required_message())

    def subscribe(self):
        """Run the access checks, then subscribe."""
        self._check_rule()
        return super().subscribe()

    def check_access(self):
        """Run the access checks again (the user's rights changed)."""
        self._check_rule()
        return super().check_access()

    def _check_rule(self):
        # Each access mixin checks its rule here, then calls super(): the rules of
        # all the access mixins a view lists run once each, leftmost first.
        pass


class LoginRequiredMixin(AccessMixin):
    """Refuse anonymous users with code ``login_required``."""

    def _check_rule(self):
        if not self.request.user.is_authenticated:
            _refuse(self)
        super()._check_rule()


class PermissionRequiredMixin(AccessMixin):
    """Refuse users without every permission of ``permission_required``."""

    #: A permission name (``"app.codename"``) or an iterable of them.
    permission_required = None

    def get_permission_required(self):
        """Return the permissions to check, as an iterable."""
        if self.permission_required is None:
            raise ImproperlyConfigured(
                f"{type(self).__name__} is missing the permission_required attribute. "
                f"Define {type(self).__name__}.permission_required, or override "
                f"{type(self).__name__}.get_permission_required()."
            )
        if isinstance(self.permission_required, str):
            return (self.permission_required,)
        return self.permission_required

    def has_permission(self):
        """Return whether the user has all the required permissions."""
        return self.request.user.has_perms(self.get_permission_required())

    def _check_rule(self):
        if not self.has_permission():
            _refuse(self)
        super()._check_rule()


class UserPassesTestMixin(AccessMixin):
    """Refuse users for whom :meth:`test_func` returns a false value."""

    def test_func(self):
        """Return whether the user may subscribe; subclasses must implement it."""
        raise NotImplementedError(
            f"{type(self).__name__} is missing the implementation of the test_func() method."
        )

    def get_test_func(self):
        """Return the function that decides; override to use another than :meth:`test_func`."""
        return self.test_func

    def _check_rule(self):
        if not self.get_test_func()():
            _refuse(self)
        super()._check_rule()


class EventPermissionMixin:
    """Refuse client events whose permissions the user lacks, with code ``permission_denied``; the handler never runs.

    Example usage::

        class RoomChannel(EventPermissionMixin, ChannelView):
            event_permissions = {"delete": "chat.delete_message"}

            def on_delete(self, data, room):
                Message.objects.filter(pk=data["id"]).delete()

    An event not in ``event_permissions`` needs no permission. Anonymous
    users have none, so they are refused too (with the same code: they are
    subscribed already). ``manage.py channels_schema`` lists each event's
    permissions.
    """

    #: ``{event: permission}``, a permission being ``"app.codename"`` or an iterable of them (all needed).
    event_permissions = None
    #: The message of a refusal; ``{event}`` is replaced by the event's name.
    event_permission_denied_message = "You do not have permission to send {event!r} on this channel."

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.__mro__.index(EventPermissionMixin) > cls.__mro__.index(ChannelView):
            return  # ChannelView refuses the order itself
        handled = cls.allowed_events()
        unknown = sorted(set(cls.event_permissions or ()) - set(handled))
        if unknown:
            raise ImproperlyConfigured(
                f"{cls.__name__}.event_permissions names {', '.join(map(repr, unknown))}, which {cls.__name__} "
                f"does not handle (it handles {', '.join(map(repr, sorted(handled))) or 'no event'}). "
                f"Fix the name, or add on_{unknown[0]}()."
            )

    def get_event_permissions(self, event):
        """Return the permissions ``event`` needs, as an iterable (``event_permissions`` by default)."""
        required = (self.event_permissions or {}).get(event, ())
        return (required,) if isinstance(required, str) else tuple(required)

    def has_event_permission(self, event):
        """Return whether the user has every permission ``event`` needs."""
        required = self.get_event_permissions(event)
        return not required or self.request.user.has_perms(required)

    def get_event_permission_denied_message(self, event):
        """Override this to change the message of an event's ``permission_denied`` refusal."""
        return self.event_permission_denied_message.format(event=event)

    def handle_no_event_permission(self, event):
        """Refuse ``event``: raise :exc:`~socketio_views.exceptions.PermissionRefused`.

        Override it to refuse with another error; an override that returns
        instead of raising still refuses, with ``permission_denied``.
        """
        raise PermissionRefused(self.get_event_permission_denied_message(event))

    def dispatch(self, event, data):
        if not self.has_event_permission(event):
            self.handle_no_event_permission(event)
            raise PermissionRefused(self.get_event_permission_denied_message(event))
        return super().dispatch(event, data)


class IdempotentEventsMixin:
    """Answer a repeat of an event with the first answer, without running its handler again.

    Example usage::

        class RoomChannel(IdempotentEventsMixin, RateLimitMixin, ChannelView):
            idempotent_events = {"message"}

    An event of ``idempotent_events`` whose payload carries an id of the
    client's choosing (``idempotency_key``, ``"id"`` by default: a non-empty
    string) is remembered with its answer for ``idempotency_window`` seconds;
    the same id again, from the same user (or session, or recovered
    subscription), gets that answer. Put it before :class:`RateLimitMixin`,
    so that a repeat costs no rate. See :mod:`socketio_views.idempotency`.
    """

    #: The events whose repeats are answered from memory.
    idempotent_events = None
    #: The payload field that holds the client's id of an event.
    idempotency_key = "id"
    #: Seconds an answer is remembered.
    idempotency_window = 120

    def get_idempotency_scope(self):
        """Whose ids these are: the user, else the Django session, else the (recovered) subscription."""
        user = getattr(self.request, "user", None)
        if user is not None and user.is_authenticated:
            return f"user:{user.pk}"
        session = getattr(self.request, "session", None)
        if session is not None and session.session_key:
            return f"session:{salted_hmac('socketio_views.idempotency', session.session_key, algorithm='sha256').hexdigest()}"
        # A recovered subscription keeps its recovery session id (channels with history).
        return f"pid:{self.hub.pid}" if getattr(self.hub, "pid", None) else f"sid:{self.sid}"

    def dispatch(self, event, data):
        if event not in (self.idempotent_events or ()):
            return super().dispatch(event, data)
        client_id = idempotency.client_id(data, self.idempotency_key)
        if client_id is None:
            return super().dispatch(event, data)
        key = f"{self.channel}:{self.get_idempotency_scope()}:{event}:{client_id}"
        run = super().dispatch
        return idempotency.once(key, self.idempotency_window, lambda: run(event, data), self.payload_converter)


class RateLimitMixin:
    """Refuse events beyond ``rate_limit``; the handler never sees them.

    The client receives an ``error`` event (and ack) with code ``rate_limited``
    and ``retry_after`` in seconds.
    """

    #: ``"10/s"``, ``"100/m"``, ``"1000/h"``, ``"5/d"``, or anything the
    #: ``limits`` package parses (``"10 per 2 seconds"``).
    rate_limit = None
    #: How many events may arrive at once; the sustained rate stays ``rate_limit``.
    rate_limit_burst = None
    #: Whose events share a limit: ``"subscription"``, ``"connection"``,
    #: ``"user"`` (falls back to the connection for anonymous users), ``"ip"``,
    #: or ``"user_or_ip"`` (the user, else the client's address: reconnecting
    #: gains nothing). An IPv6 address counts as its /64 network, which one
    #: client usually holds whole.
    rate_limit_scope = "subscription"
    #: The ``limits`` strategy: ``"moving-window"``, ``"sliding-window-counter"`` or ``"fixed-window"``.
    rate_limit_strategy = "moving-window"

    def get_rate_limit(self):
        """Return the rate string in force (``rate_limit`` by default)."""
        if self.rate_limit is None:
            raise ImproperlyConfigured(
                f"{type(self).__name__} uses RateLimitMixin without rate_limit. "
                f"Set rate_limit = '10/s' (or similar), or override get_rate_limit()."
            )
        return self.rate_limit

    def get_rate_limit_key(self):
        """Return the identity whose events are counted together (see ``rate_limit_scope``)."""
        scope = self.rate_limit_scope
        if scope == "subscription":
            return f"sub:{self.sid}"
        authenticated = getattr(self.request, "user", None) is not None and self.request.user.is_authenticated
        if scope in ("user", "user_or_ip") and authenticated:
            return f"user:{self.request.user.pk}"
        if scope in ("ip", "user_or_ip"):
            return f"ip:{limit_key(client_address(self.request.META))}"
        if scope in ("connection", "user"):
            return f"conn:{self.connection_id}"
        raise ImproperlyConfigured(
            f"{type(self).__name__}.rate_limit_scope is {scope!r}; use 'subscription', "
            f"'connection', 'user', 'ip' or 'user_or_ip', or override get_rate_limit_key()."
        )

    def get_rate_limiter(self):
        """Return the :class:`~socketio_views.throttling.RateLimiter` for this view's settings."""
        return RateLimiter.get(self.get_rate_limit(), self.rate_limit_burst, self.rate_limit_strategy)

    def dispatch(self, event, data):
        limiter = self.get_rate_limiter()
        key = f"{type(self).__module__}.{type(self).__qualname__}:{self.get_rate_limit_key()}"
        allowed, retry_after = limiter.hit(key)
        if not allowed:
            raise RateLimited(retry_after=retry_after)
        return super().dispatch(event, data)


class PresenceMixin:
    """Keep track of who is subscribed, across processes when the backend is Redis.

    ``self.presence()`` lists the channel's subscriptions with the metadata of
    :meth:`get_presence_meta`. With ``presence_events`` (the default) a new
    subscriber receives ``presence_state`` (``{"presences": [...]}``) and the
    others ``presence_diff`` (``{"joins": [...], "leaves": [...]}``) whenever
    someone comes or goes: under a server, coalesced per channel every
    ``PRESENCE_INTERVAL`` seconds, and past ``PRESENCE_LIST_LIMIT``
    subscriptions replaced by ``presence_count`` (``{"count": n}``), as
    :class:`~socketio_views.presence.PresenceTicks` describes. A subscription that a stopping process's drain
    closes (:mod:`socketio_views.drain`) is not announced as leaving then:
    its client reconnects at once (a new subscription); with Redis the old
    entry expires after ``PRESENCE_TTL``, and its leave is announced then.
    """

    #: Send ``presence_state`` and ``presence_diff`` events.
    presence_events = True

    def get_presence_meta(self):
        """Return the JSON object others see about this subscription (default: the username)."""
        user = getattr(self.request, "user", None)
        return {"user": user.get_username() if user is not None and user.is_authenticated else None}

    def presence(self):
        """Every present subscription of this channel: ``[{"sid": ..., **meta}, ...]``."""
        return get_presence().list(self.channel)

    def subscribe(self):
        result = super().subscribe()
        meta = self.get_presence_meta()
        get_presence().join(self.channel, self.sid, meta, notify=self.presence_events)
        if self.presence_events:
            get_presence_ticks().joined(self, {"sid": self.sid, **meta})
        return result

    def teardown(self, reason):
        try:
            return super().teardown(reason)
        finally:
            if reason == drain.REASON:
                # A handover, not a departure: the client reconnects at once
                # (elsewhere, or here restarted). Telling the others it left
                # would have them announce its return as a new arrival.
                get_presence().release(self.channel, self.sid)
            else:
                entry = get_presence().leave(self.channel, self.sid)
                if self.presence_events and entry is not None:
                    get_presence_ticks().left(self, entry)
