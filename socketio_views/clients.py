"""
Limits per client address: connections open at once, new connections per second, and subscriptions over all its connections.

The address is ``REMOTE_ADDR``, or, behind reverse proxies you declare, the
one they forward::

    SOCKETIO_VIEWS = {"CLIENT_IP_HEADER": "HTTP_X_FORWARDED_FOR", "NUM_PROXIES": 1}

A forwarding header is never trusted unless ``CLIENT_IP_HEADER`` names it.
"""
import functools
import ipaddress
import math

from .conf import views_settings
from .exceptions import TooManyConnections, TooManyHandshakes, TooManySubscriptions
from .logs import logger
from .throttling import RateLimiter


#: Headers a reverse proxy adds to the requests it forwards.
FORWARDING_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED", "HTTP_X_REAL_IP")

#: WSGI environ key under which an accepted handshake leaves the key it counts against.
LIMIT_KEY = "socketio_views.limit_key"
#: WSGI environ key: the handshake counts against its address's connections, though it made none yet.
PENDING_KEY = "socketio_views.limit_pending"

#: Where reverse proxies and load balancers forward from: loopback, private
#: (RFC 1918, unique local), shared (RFC 6598) and link-local networks.
INTERNAL_NETWORKS = tuple(
    ipaddress.ip_network(network)
    for network in (
        "127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "169.254.0.0/16",
        "::1/128", "fc00::/7", "fe80::/10",
    )
)

_warned_about_proxy = False


def client_address(environ):
    """The IP address of the client that sent the request of WSGI ``environ``.

    ``REMOTE_ADDR``, unless ``CLIENT_IP_HEADER`` names a header (a
    ``request.META`` key) that the reverse proxies in front of the server
    set. Each proxy appends the address it received the request from, so the
    ``NUM_PROXIES``-th entry from the right is the client's, whatever the
    client itself wrote before it (the leftmost if there are fewer). Without
    the header, or with an empty one, ``REMOTE_ADDR``.
    """
    remote = environ.get("REMOTE_ADDR", "")
    header = views_settings.CLIENT_IP_HEADER
    value = environ.get(header) if header else None
    entries = [entry.strip() for entry in value.split(",") if entry.strip()] if value else []
    if not entries:
        return remote
    return entries[-min(max(views_settings.NUM_PROXIES, 1), len(entries))]


#: Addresses whose parsed forms are remembered (each parsed once, not on every handshake).
ADDRESS_CACHE_SIZE = 4096


@functools.lru_cache(maxsize=ADDRESS_CACHE_SIZE)
def limit_key(address):
    """The key under which ``address`` is counted: the address, or its /64 network for IPv6.

    An IPv6 subscriber usually gets a whole /64, so counting its addresses
    one by one would not limit it.
    """
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if ip.version == 6:
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def limit_key_of(environ):
    """The key the request of ``environ`` counts against, or ``None`` if it is not limited per address.

    Not limited: a client on the loopback interface (this machine: tests,
    benchmarks, local tools), and, while ``CLIENT_IP_HEADER`` is unset, a
    private address that forwards requests (it carries a forwarding header),
    whose clients would all share the proxy's address; that logs one warning.
    """
    if views_settings.CLIENT_IP_HEADER:
        address = client_address(environ)
    else:
        address = environ.get("REMOTE_ADDR", "")
        if _is_internal(address) and any(name in environ for name in FORWARDING_HEADERS):
            _warn_about_undeclared_proxy(address)
            return None
    if _is_loopback(address):
        return None
    return limit_key(address)


class AddressLimits:
    """The connections this process holds per client address, and the handshake checks against the limits."""

    def __init__(self):
        self.open = {}  # key -> connections open, and handshakes admitted and not yet ended
        self.keys = {}  # connection id -> key
        self.subscriptions = {}  # key -> subscriptions held or being decided

    def refusal(self, environ):
        """Return the error refusing a new connection from ``environ``'s client, or ``None`` to accept it.

        ``MAX_CONNECTIONS_PER_IP`` is checked first, then ``HANDSHAKE_RATE``
        (whose storage is that of ``RateLimitMixin``, shared between
        processes when it is Redis). An accepted handshake counts at once
        (it may wait for its turn, :mod:`socketio_views.transport.pacing`,
        while others arrive): :meth:`opened` keeps counting it as the
        connection python-engineio made, :meth:`handshake_ended` stops if it
        made none.
        """
        key = limit_key_of(environ)
        if key is None:
            return None
        limit = views_settings.MAX_CONNECTIONS_PER_IP
        if limit is not None and self.open.get(key, 0) >= limit:
            return TooManyConnections(f"Too many connections from this address (MAX_CONNECTIONS_PER_IP is {limit}).")
        rate = views_settings.HANDSHAKE_RATE
        if rate is not None:
            allowed, retry_after = RateLimiter.get(rate).hit(f"handshake:{key}")
            if not allowed:
                return TooManyHandshakes(
                    f"Too many new connections from this address (HANDSHAKE_RATE is {rate}); retry later.",
                    retry_after=retry_after,
                )
        environ[LIMIT_KEY] = key
        environ[PENDING_KEY] = True
        self.open[key] = self.open.get(key, 0) + 1
        return None

    def opened(self, connection_id, environ):
        """Count connection ``connection_id``, whose handshake :meth:`refusal` accepted."""
        key = environ.get(LIMIT_KEY)
        if key is not None:
            self.keys[connection_id] = key
            if not environ.pop(PENDING_KEY, False):
                self.open[key] = self.open.get(key, 0) + 1

    def handshake_ended(self, environ):
        """Stop counting the handshake of ``environ`` if :meth:`refusal` accepted it and it made no connection."""
        if environ.pop(PENDING_KEY, False):
            self._uncount(environ[LIMIT_KEY])

    def closed(self, connection_id):
        """Stop counting connection ``connection_id``."""
        key = self.keys.pop(connection_id, None)
        if key is not None:
            self._uncount(key)

    def _uncount(self, key):
        if self.open.get(key, 0) > 1:
            self.open[key] -= 1
        else:
            self.open.pop(key, None)


    def key_of(self, connection_id):
        """The key connection ``connection_id`` counts against, or ``None`` if it is not limited per address."""
        return self.keys.get(connection_id)

    def reserve_subscription(self, key):
        """Count one more subscription of address ``key`` and return ``None``, or return the error refusing it.

        ``MAX_SUBSCRIPTIONS_PER_IP`` bounds the subscriptions of one address
        over all its connections to this process, those being decided
        included; :meth:`release_subscriptions` gives them back.
        """
        if key is None:
            return None
        limit = views_settings.MAX_SUBSCRIPTIONS_PER_IP
        held = self.subscriptions.get(key, 0)
        if limit is not None and held >= limit:
            return TooManySubscriptions(
                f"The connections from this address already hold {limit} subscriptions (MAX_SUBSCRIPTIONS_PER_IP); "
                f"unsubscribe from one first."
            )
        self.subscriptions[key] = held + 1
        return None

    def release_subscriptions(self, key, count=1):
        """Give back ``count`` subscriptions of address ``key`` (ended, or refused after :meth:`reserve_subscription`)."""
        if key is None or not count:
            return
        left = self.subscriptions.get(key, 0) - count
        if left > 0:
            self.subscriptions[key] = left
        else:
            self.subscriptions.pop(key, None)


def retry_after_header(error):
    """The ``Retry-After`` header's value (whole seconds, at least 1) for an error with ``retry_after``, else ``None``."""
    retry_after = getattr(error, "retry_after", None)
    return None if retry_after is None else str(max(1, math.ceil(retry_after)))


def _ip(address):
    try:
        return ipaddress.ip_address(address)
    except ValueError:
        return None


@functools.lru_cache(maxsize=ADDRESS_CACHE_SIZE)
def _is_loopback(address):
    ip = _ip(address)
    return ip is not None and (ip.is_loopback or (ip.version == 6 and ip.ipv4_mapped is not None and ip.ipv4_mapped.is_loopback))


@functools.lru_cache(maxsize=ADDRESS_CACHE_SIZE)
def _is_internal(address):
    ip = _ip(address)
    if ip is not None and ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip is not None and any(ip in network for network in INTERNAL_NETWORKS)


def _warn_about_undeclared_proxy(address):
    global _warned_about_proxy
    if not _warned_about_proxy:
        _warned_about_proxy = True
        logger.warning(
            "Requests come through a reverse proxy (%s forwards them), but SOCKETIO_VIEWS['CLIENT_IP_HEADER'] is "
            "not set: every client has the proxy's address, so MAX_CONNECTIONS_PER_IP and HANDSHAKE_RATE are not "
            "applied. Set CLIENT_IP_HEADER (e.g. 'HTTP_X_FORWARDED_FOR') and NUM_PROXIES.",
            address,
        )
