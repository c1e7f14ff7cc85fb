"""
The rules every send follows, and the outbox of a subscription.

Every message the server sends, from a view or from anywhere else, goes
through :meth:`Hub.emit`, with one set of rules; a transport implements
:meth:`Hub.deliver`. Which hub sends in this process is
:func:`socketio_views.hubs.get_hub`'s answer.

Example usage (what :func:`socketio_views.broadcast` does)::

    from socketio_views.hubs import get_hub

    get_hub().emit("message", {"text": "hi"}, channel="rooms/lobby")
"""
from . import outgoing, payloads
from .history import get_history, policy_for
from .logs import logger
from .metrics import NULL_ROUTE
from .transport import acks
from .views import UNSENDABLE_EVENTS


def namespace_for(channel):
    """Return the Socket.IO namespace of ``channel`` (``"rooms/lobby"`` -> ``"/rooms/lobby"``)."""
    if channel.startswith("/"):
        raise ValueError(
            f"Channel names do not start with '/': use {channel.lstrip('/')!r}, not {channel!r}."
        )
    return "/" + channel


def packet_args(data, offset):
    """What python-socketio sends: ``data``, or ``(data, offset)``, which it sends as two arguments."""
    return data if offset is None else (data, offset)


class EmitCounter:
    """How many messages :meth:`Hub.emit` sent per channel, while someone samples them.

    Counting is off (``counts`` is ``None``) until :meth:`start`; the live
    channels page (:mod:`socketio_views.live`) starts it and takes the counts
    every second, so the dict holds at most one second's channels.
    """

    def __init__(self):
        #: ``{channel: messages}`` since the last :meth:`take`, or ``None`` when not counting.
        self.counts = None

    def start(self):
        """Count from now on."""
        if self.counts is None:
            self.counts = {}

    def stop(self):
        """Stop counting and forget the counts."""
        self.counts = None

    def take(self):
        """Return the counts since the last call and start again from zero."""
        counts, self.counts = self.counts or {}, {}
        return counts


#: The counter of this process.
emit_counts = EmitCounter()


class Hub:
    """Delivers events to the subscribers of channels.

    ``channel`` is a channel name such as ``"rooms/lobby"`` and ``sid`` a
    subscription's id. Transports implement :meth:`deliver` (and the other
    methods); callers use :meth:`emit`.
    """

    #: Whether :meth:`emit` checks payloads against the views' ``emits`` (``None``: the ``CHECK_EMITS`` setting).
    check_emits = None

    def emit(
        self, event, data, *, channel, to=None, skip_sid=None, callback=None, converter=payloads.converter, history=True
    ):
        """Send ``event`` to ``to`` (one subscription) or to every subscriber of ``channel`` but ``skip_sid``.

        The rules every sender follows: the event names that Socket.IO and
        this framework reserve raise ``ValueError``, as does a channel name
        that starts with ``/``; attrs instances are unstructured with
        ``converter``; ``callback`` (only with ``to``) receives the client's
        acknowledgement. Data that JSON cannot carry raises ``TypeError``.
        A broadcast on a channel with history is kept and carries its offset,
        unless ``history`` is false.
        """
        if event in UNSENDABLE_EVENTS:
            raise ValueError(f"{event!r} is reserved by Socket.IO; choose another event name.")
        namespace_for(channel)
        acks.require_recipient(callback, to)
        outgoing.check(self, event, data, channel=channel, converter=converter)
        data = payloads.unstructure(data, converter)
        counts = emit_counts.counts
        if counts is not None:
            counts[channel] = counts.get(channel, 0) + 1
        logger.debug("Sending %r on %r to %s", event, channel, to or "every subscriber", channel=channel, sid=to, event=event)
        self.publish(event, data, channel=channel, to=to, skip_sid=skip_sid, callback=callback, history=history)

    def publish(self, event, data, *, channel, to=None, skip_sid=None, callback=None, history=True):
        """Keep a broadcast in the channel's history, if it has one, then :meth:`deliver` it."""
        offset = None
        if to is None and history:
            policy = policy_for(channel)
            if policy is not None and policy.keeps(event):
                offset = _keep(channel, policy, event, data, skip_sid)
        self.deliver(event, data, channel=channel, to=to, skip_sid=skip_sid, callback=callback, offset=offset)

    def deliver(self, event, data, *, channel, to=None, skip_sid=None, callback=None, offset=None):
        """Hand an event to the transport.

        ``offset``, on channels with history, goes after ``data`` as the
        packet's last argument, where Socket.IO clients look for it.
        """
        raise NotImplementedError

    def channel_of(self, sid):
        """The channel of subscription ``sid`` if this hub holds it, else ``None``."""
        raise NotImplementedError

    def unsubscribe(self, channel, sid):
        """End one subscription from the server side."""
        raise NotImplementedError

    def disconnect(self, channel, sid):
        """Close the connection that holds the subscription."""
        raise NotImplementedError

    def end_identity(self, *, session=None, user=None):
        """End, in every process, the subscriptions opened with session hash ``session`` or by user key ``user``.

        Each gets the ``logged_out`` error, and its connection is anonymous
        from then on (see :mod:`socketio_views.identity`).
        """
        raise NotImplementedError

    def recheck_users(self, users):
        """Run, in every process, the access checks of every subscription of the users keyed ``users`` again.

        Each subscription that fails them gets the ``access_revoked`` error
        and ends (see :mod:`socketio_views.revocation`).
        """
        raise NotImplementedError


class Outbox(Hub):
    """A subscription's hub: holds what the view sends until the client knows it is subscribed.

    The client is subscribed once ``on_subscribe`` and the checks have
    returned; :meth:`release` then delivers what was held, and later sends go
    straight to ``hub``. If the subscription is refused, nothing held is sent.
    """

    def __init__(self, hub):
        self.hub = hub
        self.held = []
        #: The recovery session id sent with the subscription's confirmation (channels with history).
        self.pid = None
        #: History entries to send right after the confirmation: what a
        #: recovering client missed, or a newcomer's last broadcasts.
        self.replay = []
        #: The offset up to which the client has (or will have, once replayed) every entry.
        self.resume_offset = None
        #: Subscriptions whose ``include_self=False`` broadcasts the client must not be replayed.
        self.skip_sids = set()
        #: The channel's :class:`~socketio_views.history.Policy`, or ``None`` without history.
        self.policy = None
        #: What the subscription's route records (:class:`~socketio_views.metrics.RouteMeter`).
        self.meter = NULL_ROUTE
        #: The view class whose sends this carries, and whether they are checked against its ``emits``.
        self.view_class, self.check_emits = None, hub.check_emits

    def publish(self, event, data, **kwargs):
        if self.held is None:
            self.hub.publish(event, data, **kwargs)
        else:
            # Not even kept in history: a refused subscription sends nothing.
            self.held.append((event, data, kwargs))

    def release(self):
        """Publish what was held; from now on, publish at once."""
        held, self.held = self.held, None
        for event, data, kwargs in held or ():
            self.hub.publish(event, data, **kwargs)

    def channel_of(self, sid):
        return self.hub.channel_of(sid)

    def unsubscribe(self, channel, sid):
        self.hub.unsubscribe(channel, sid)

    def disconnect(self, channel, sid):
        self.hub.disconnect(channel, sid)

    def end_identity(self, **identity):
        self.hub.end_identity(**identity)

    def recheck_users(self, users):
        self.hub.recheck_users(users)


def _keep(channel, policy, event, data, skip_sid):
    store = get_history()
    try:
        offset = store.append(channel, policy, event, data, skip_sid)
    except TypeError:
        raise
    except Exception as exc:
        store.outage.failed(exc)
        return None
    store.outage.succeeded()
    return offset
