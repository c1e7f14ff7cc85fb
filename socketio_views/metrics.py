"""
Prometheus metrics of the real-time layer, kept with ``prometheus-client``.

Install the extra (``pip install socketio-views[metrics]``) and expose them
from the project's URLconf::

    from socketio_views.metrics import metrics_view

    urlpatterns = [path("metrics/", metrics_view), ...]

Only active staff users, the bearer tokens of ``METRICS_TOKENS`` and the
addresses of ``METRICS_IPS`` may read them. Under gunicorn with several
workers, set ``PROMETHEUS_MULTIPROC_DIR`` (prometheus-client's multiprocess
mode) and run :func:`socketio_views.tuning.child_exit` as gunicorn's
``child_exit`` hook; see ``docs/operations.rst``.

Every metric is labelled with bounded values only: a route is the registered
pattern (``rooms/<slug:room>``), never a channel name; an event a client
emits is its name only if the view handles it.
"""
import hmac
import ipaddress
import os

from django.core.exceptions import ImproperlyConfigured
from django.http import HttpResponse, HttpResponseForbidden, HttpResponseNotFound

from .clients import client_address
from .conf import views_settings
from .state import ProcessWide

try:
    import prometheus_client
    from prometheus_client import multiprocess
except ImportError:  # the optional extra is not installed
    prometheus_client = None

#: The route label of what no route serves (a connection-level refusal, a
#: subscription refused before its channel was resolved).
NO_ROUTE = ""

#: The event label of client events the view does not handle.
OTHER_EVENT = "_other"

#: Environment variable of prometheus-client's multiprocess mode.
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

#: What ``METRICS = True`` without prometheus-client is: the system check E040 and, when
#: checks were skipped, the ``ImproperlyConfigured`` of :func:`is_enabled` at start.
MISSING_CLIENT = "SOCKETIO_VIEWS['METRICS'] is True but prometheus-client is not installed"
MISSING_CLIENT_HINT = "pip install 'socketio-views[metrics]', or set METRICS to None or False."

#: Buckets of ``socketio_views_handler_seconds``: handlers mostly take well under a millisecond.
HANDLER_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

#: Buckets of ``socketio_views_hub_blocked_seconds``: holds past ``MAX_BLOCKING_TIME`` (0.1 s by default).
HUB_BLOCKED_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


def is_enabled():
    """Whether this process records metrics (the ``METRICS`` setting).

    ``None`` (the default) means on when prometheus-client is installed.
    ``True`` without it raises ``ImproperlyConfigured``.
    """
    setting = views_settings.METRICS
    if setting is None:
        return prometheus_client is not None
    if setting and prometheus_client is None:
        raise ImproperlyConfigured(f"{MISSING_CLIENT}: {MISSING_CLIENT_HINT}")
    return bool(setting)


class Collectors:
    """The prometheus-client metrics themselves, created once per process in its default registry."""

    def __init__(self):
        pc = prometheus_client
        self.connections = pc.Gauge(
            "socketio_views_connections",
            "Open Engine.IO connections, by transport.",
            ["transport"],
            multiprocess_mode="livesum",
        )
        self.subscriptions = pc.Gauge(
            "socketio_views_subscriptions",
            "Live subscriptions, by route (the registered channel pattern).",
            ["route"],
            multiprocess_mode="livesum",
        )
        self.events_received = pc.Counter(
            "socketio_views_events_received",
            "Client events received by subscriptions, by route and event (_other: events the view does not handle).",
            ["route", "event"],
        )
        self.messages_sent = pc.Counter(
            "socketio_views_messages_sent",
            "Events delivered to subscriptions (a broadcast to N subscribers counts N), by route and event.",
            ["route", "event"],
        )
        self.refusals = pc.Counter(
            "socketio_views_refusals",
            "Errors sent to clients (refused connections, subscriptions and events; server_error: a handler "
            "failed), by route and error code.",
            ["route", "code"],
        )
        self.handler_seconds = pc.Histogram(
            "socketio_views_handler_seconds",
            "Time the handlers of client events took, by route and event.",
            ["route", "event"],
            buckets=HANDLER_BUCKETS,
        )
        self.backend_errors = pc.Counter(
            "socketio_views_backend_errors",
            "Failures of the scale-out backend, by operation (publish, listen).",
            ["operation"],
        )
        self.backend_messages = pc.Counter(
            "socketio_views_backend_messages_received",
            "Messages this process read from the scale-out backend (its share of the routing work).",
        )
        self.slow_consumers = pc.Counter(
            "socketio_views_slow_consumer_disconnects",
            "Connections ended because they did not read what was sent to them, by route.",
            ["route"],
        )
        self.dropped = pc.Counter(
            "socketio_views_dropped_messages",
            "Messages dropped for slow consumers of channels with slow_consumer_policy = 'drop', by route.",
            ["route"],
        )
        self.recoveries = pc.Counter(
            "socketio_views_recoveries",
            "Subscriptions that asked to recover a session, by route and outcome (recovered, or why not).",
            ["route", "outcome"],
        )
        self.replayed = pc.Counter(
            "socketio_views_replayed_messages",
            "History entries replayed to subscribers (missed broadcasts, or a newcomer's last ones), by route.",
            ["route"],
        )
        self.hub_blocked = pc.Histogram(
            "socketio_views_hub_blocked_seconds",
            "Holds of the gevent hub longer than MAX_BLOCKING_TIME: how long one greenlet ran while every "
            "socket of the process waited.",
            buckets=HUB_BLOCKED_BUCKETS,
        )


_collectors = None


def collectors():
    """This process's :class:`Collectors` (created on first use; they are never dropped)."""
    global _collectors
    if _collectors is None:
        _collectors = Collectors()
    return _collectors


class RouteMeter:
    """What one route records, with each labelled child bound once (``labels()`` looks up a dict of tuples)."""

    enabled = True

    def __init__(self, collectors, route):
        self.collectors = collectors
        self.route = route
        self.subscriptions = collectors.subscriptions.labels(route)
        self._received = {}
        self._sent = {}
        self._seconds = {}

    def received(self, event):
        """Count a client event (labelled with :data:`OTHER_EVENT` if the view does not handle it)."""
        child = self._received.get(event)
        if child is None:
            child = self._received[event] = self.collectors.events_received.labels(self.route, event)
        child.inc()

    def handled(self, event, seconds):
        """Record how long the handler of ``event`` took."""
        child = self._seconds.get(event)
        if child is None:
            child = self._seconds[event] = self.collectors.handler_seconds.labels(self.route, event)
        child.observe(seconds)

    def sent(self, event, count):
        """Count ``count`` deliveries of server event ``event``."""
        child = self._sent.get(event)
        if child is None:
            child = self._sent[event] = self.collectors.messages_sent.labels(self.route, event)
        child.inc(count)


class _NullRouteMeter:
    enabled = False
    route = NO_ROUTE

    def received(self, event):
        pass

    def handled(self, event, seconds):
        pass

    def sent(self, event, count):
        pass


NULL_ROUTE = _NullRouteMeter()


class Meter:
    """What this process records, once metrics are on (see :func:`get_meter`)."""

    enabled = True

    def __init__(self, collectors):
        self.collectors = collectors
        self._routes = {}
        # Socket.IO namespace -> [RouteMeter, local subscriptions]: which route
        # a delivery on a namespace is counted under.
        self._namespaces = {}
        # Engine.IO session id -> its transport's gauge child.
        self._transports = {}
        self._connections = {t: collectors.connections.labels(t) for t in ("polling", "websocket")}
        self._refusals = {}

    def route(self, route):
        """The :class:`RouteMeter` of registered pattern ``route``."""
        meter = self._routes.get(route)
        if meter is None:
            meter = self._routes[route] = RouteMeter(self.collectors, route)
        return meter

    # Connections.

    def connection_opened(self, connection_id, transport):
        """Count an open connection on ``transport`` (``"polling"`` or ``"websocket"``)."""
        child = self._transports[connection_id] = self._connections[transport]
        child.inc()

    def connection_upgraded(self, connection_id):
        """Move a polling connection to the websocket count."""
        if self._transports.get(connection_id) is self._connections["polling"]:
            self._connections["polling"].dec()
            child = self._transports[connection_id] = self._connections["websocket"]
            child.inc()

    def connection_closed(self, connection_id):
        """Count a closed connection."""
        child = self._transports.pop(connection_id, None)
        if child is not None:
            child.dec()

    # Subscriptions and deliveries.

    def subscribed(self, namespace, route_meter):
        """Count a live subscription of ``route_meter``'s route on ``namespace``."""
        route_meter.subscriptions.inc()
        entry = self._namespaces.get(namespace)
        if entry is None:
            self._namespaces[namespace] = [route_meter, 1]
        else:
            entry[1] += 1

    def unsubscribed(self, namespace, route_meter):
        """Count a subscription that ended."""
        route_meter.subscriptions.dec()
        entry = self._namespaces.get(namespace)
        if entry is not None:
            entry[1] -= 1
            if entry[1] <= 0:
                del self._namespaces[namespace]

    def delivered(self, rooms, event, namespace, room, skip_sid):
        """Count what python-socketio's ``Manager.emit()`` is about to send: one per recipient.

        ``rooms`` is the manager's ``rooms``; the count is the size of the
        room, less the skipped subscriptions, once per emit (not per packet).
        """
        entry = self._namespaces.get(namespace)
        if entry is None:
            return  # no subscription of this process on it: nothing is sent
        members = rooms.get(namespace)
        if not members:
            return
        if isinstance(room, (list, tuple)):
            recipients = set()
            for name in room:
                recipients.update(members.get(name) or ())
        else:
            recipients = members.get(room)
            if not recipients:
                return
        count = len(recipients)
        if skip_sid is not None:
            for sid in skip_sid if isinstance(skip_sid, list) else (skip_sid,):
                if sid in recipients:
                    count -= 1
        if count > 0:
            entry[0].sent(event, count)

    def route_of(self, namespace):
        """The route served on ``namespace`` in this process, or :data:`NO_ROUTE`."""
        entry = self._namespaces.get(namespace) if namespace else None
        return entry[0].route if entry is not None else NO_ROUTE

    # Everything else.

    def refused(self, route, code):
        """Count an error sent to a client (``route`` ``None``: no route)."""
        key = (route or NO_ROUTE, code)
        child = self._refusals.get(key)
        if child is None:
            child = self._refusals[key] = self.collectors.refusals.labels(*key)
        child.inc()

    def backend_error(self, operation):
        """Count a failure of the scale-out backend (``"publish"`` or ``"listen"``)."""
        self.collectors.backend_errors.labels(operation).inc()

    def backend_message_received(self):
        """Count a message read from the scale-out backend."""
        self.collectors.backend_messages.inc()

    def slow_consumer_ended(self, namespace):
        """Count a connection ended as a slow consumer while sending on ``namespace``."""
        self.collectors.slow_consumers.labels(self.route_of(namespace)).inc()

    def message_dropped(self, namespace):
        """Count a message dropped for a slow consumer on ``namespace``."""
        self.collectors.dropped.labels(self.route_of(namespace)).inc()

    def recovery(self, route, outcome):
        """Count a recovery attempt: ``outcome`` is ``"recovered"`` or why not (``recovery.UNKNOWN_SESSION``…)."""
        self.collectors.recoveries.labels(route, outcome).inc()

    def replayed(self, namespace, count):
        """Count ``count`` history entries replayed on ``namespace``."""
        if count:
            self.collectors.replayed.labels(self.route_of(namespace)).inc(count)

    def hub_blocked(self, seconds):
        """Record a hold of the gevent hub of ``seconds`` (:mod:`socketio_views.hub`)."""
        self.collectors.hub_blocked.observe(seconds)


class _NullMeter:
    """What this process records with metrics off: nothing, at the cost of a call."""

    enabled = False

    def route(self, route):
        return NULL_ROUTE

    def connection_opened(self, connection_id, transport):
        pass

    def connection_upgraded(self, connection_id):
        pass

    def connection_closed(self, connection_id):
        pass

    def subscribed(self, namespace, route_meter):
        pass

    def unsubscribed(self, namespace, route_meter):
        pass

    def delivered(self, rooms, event, namespace, room, skip_sid):
        pass

    def route_of(self, namespace):
        return NO_ROUTE

    def refused(self, route, code):
        pass

    def backend_error(self, operation):
        pass

    def backend_message_received(self):
        pass

    def slow_consumer_ended(self, namespace):
        pass

    def message_dropped(self, namespace):
        pass

    def recovery(self, route, outcome):
        pass

    def replayed(self, namespace, count):
        pass

    def hub_blocked(self, seconds):
        pass


NULL_METER = _NullMeter()


def make_meter():
    """A :class:`Meter` if metrics are on (:func:`is_enabled`), else one that records nothing."""
    return Meter(collectors()) if is_enabled() else NULL_METER


_meter = ProcessWide(make_meter)


def get_meter():
    """This process's meter, from the settings."""
    return _meter.get()


# Exposure.


def registry():
    """The registry a scrape reads: every process's files in multiprocess mode, else this process's default registry."""
    if os.environ.get(MULTIPROC_ENV):
        collected = prometheus_client.CollectorRegistry()
        multiprocess.MultiProcessCollector(collected)
        return collected
    return prometheus_client.REGISTRY


def may_read_metrics(request):
    """Whether ``request`` may read the metrics: an active staff user, a ``METRICS_TOKENS`` bearer token, or a
    client address in ``METRICS_IPS``."""
    user = getattr(request, "user", None)
    if user is not None and user.is_active and user.is_staff:
        return True
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token:
        for allowed in views_settings.METRICS_TOKENS:
            if hmac.compare_digest(token.strip().encode(), str(allowed).encode()):
                return True
    networks = views_settings.METRICS_IPS
    if networks:
        try:
            address = ipaddress.ip_address(client_address(request.META))
        except ValueError:
            return False
        for network in networks:
            if address in ipaddress.ip_network(network, strict=False):
                return True
    return False


def metrics_view(request):
    """The Prometheus text exposition of this process's metrics (every worker's in multiprocess mode).

    403 for everyone but those :func:`may_read_metrics` lets in; 404 while
    metrics are off.
    """
    if not may_read_metrics(request):
        return HttpResponseForbidden(
            "Metrics are for staff users, the tokens of SOCKETIO_VIEWS['METRICS_TOKENS'] "
            "(Authorization: Bearer <token>) and the addresses of SOCKETIO_VIEWS['METRICS_IPS'].",
            content_type="text/plain",
        )
    if not is_enabled():
        return HttpResponseNotFound(
            "Metrics are off: install prometheus-client (socketio-views[metrics]) and leave "
            "SOCKETIO_VIEWS['METRICS'] unset or True.",
            content_type="text/plain",
        )
    collectors()
    return HttpResponse(prometheus_client.generate_latest(registry()), content_type=prometheus_client.CONTENT_TYPE_LATEST)

