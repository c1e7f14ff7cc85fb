"""socketio_views.origins: which pages may open channels (see docs/security.rst, "Configuring the origin check")."""
import pytest
from django.middleware.csrf import CsrfViewMiddleware
from django.test import RequestFactory, override_settings

from socketio_views.origins import is_origin_allowed, origin_matches

LISTED = ["https://app.example.com", "https://*.example.org", "http://localhost:3000"]


def allowed_origins(value):
    """Settings with ``SOCKETIO_VIEWS["ALLOWED_ORIGINS"] = value``."""
    return override_settings(SOCKETIO_VIEWS={"ALLOWED_ORIGINS": value})


def handshake(origin, host="127.0.0.1:8000", secure=False, **headers):
    """The Django request of a Socket.IO handshake from a page at ``origin`` (None: no Origin header) to ``host``."""
    if origin is not None:
        headers["HTTP_ORIGIN"] = origin
    return RequestFactory().get("/socket.io/", {"EIO": "4"}, secure=secure, HTTP_HOST=host, **headers)


def django_accepts(request):
    """Whether Django's CSRF check accepts the Origin of ``request``."""
    return CsrfViewMiddleware(lambda request: None)._origin_verified(request)


@pytest.mark.parametrize("origin", ["https://a.example.com", "https://example.com", "https://a.b.example.com"])
def test_wildcard_entry_matches_the_domain_and_its_subdomains(origin):
    """"https://*.example.com" matches example.com itself and any of its subdomains, with that scheme."""
    assert True is origin_matches(origin, "https://*.example.com")


@pytest.mark.parametrize(
    "origin",
    [
        "https://evil.com",
        "https://example.com.evil.com",
        "https://notexample.com",
        "https://a.example.com.",
        "http://a.example.com",
        "http://example.com",
        "https://a.example.com:8443",
        "wss://a.example.com",
        "null",
        "http://[::1",
    ],
)
def test_wildcard_entry_matches_nothing_else(origin):
    """"https://*.example.com" does not match other domains, mere suffixes, another scheme, a port, or no URL."""
    assert False is origin_matches(origin, "https://*.example.com")


def test_wildcard_entry_with_a_port_matches_that_port_only():
    """"https://*.example.com:8443" matches the subdomains on port 8443, as in CSRF_TRUSTED_ORIGINS."""
    matches = [origin_matches(o, "https://*.example.com:8443") for o in ("https://a.example.com:8443", "https://a.example.com")]
    assert [True, False] == matches


@pytest.mark.parametrize(
    "origin, expected",
    [
        ("https://app.example.com", True),
        ("http://app.example.com", False),
        ("https://app.example.com:443", False),
        ("https://app.example.com:8443", False),
        ("https://sub.app.example.com", False),
        ("https://example.com", False),
    ],
)
def test_exact_entry_matches_scheme_host_and_port_exactly(origin, expected):
    """An entry without "*." matches only the same scheme, host and port."""
    assert expected is origin_matches(origin, "https://app.example.com")


@pytest.mark.parametrize(
    "origin", ["https://app.example.com", "https://example.org", "https://chat.example.org", "http://localhost:3000"]
)
def test_allowed_origins_list_admits_its_entries(origin):
    """With a list of ALLOWED_ORIGINS, an origin matching an entry is allowed."""
    with allowed_origins(LISTED):
        assert True is is_origin_allowed(handshake(origin))


@pytest.mark.parametrize(
    "origin",
    [
        # Allowed by the request's own origin / CSRF_TRUSTED_ORIGINS of tests/settings.py, which the list replaces.
        "http://127.0.0.1:8000",
        "https://trusted.example",
        # Near misses of the entries.
        "http://app.example.com",
        "https://app.example.com:8443",
        "http://localhost:3001",
        "https://localhost:3000",
        "http://example.org",
        "https://example.org.evil.example",
        "https://evil.example",
        "null",
    ],
)
def test_allowed_origins_list_refuses_every_other_origin(origin):
    """With a list of ALLOWED_ORIGINS, every origin matching no entry is refused, even the request's own."""
    with allowed_origins(LISTED):
        assert False is is_origin_allowed(handshake(origin))


def test_empty_allowed_origins_list_refuses_every_origin():
    """ALLOWED_ORIGINS = [] refuses every page that sends an Origin."""
    with allowed_origins([]):
        decisions = [is_origin_allowed(handshake("http://127.0.0.1:8000")), is_origin_allowed(handshake("https://trusted.example"))]
    assert [False, False] == decisions


@pytest.mark.parametrize("value", [None, [], LISTED, "*"])
def test_no_origin_is_always_allowed(value):
    """A request without Origin (not from another site's page) is accepted whatever ALLOWED_ORIGINS says."""
    with allowed_origins(value):
        assert True is is_origin_allowed(handshake(None))


@pytest.mark.parametrize("origin", ["https://evil.example", "null", "http://127.0.0.1:8000"])
def test_star_allows_every_origin(origin):
    """ALLOWED_ORIGINS = "*" allows every origin."""
    with allowed_origins("*"):
        assert True is is_origin_allowed(handshake(origin))


@pytest.mark.parametrize(
    "origin, expected",
    [
        ("http://127.0.0.1:8000", True),
        ("https://127.0.0.1:8000", False),
        ("http://127.0.0.1:8001", False),
        ("http://127.0.0.1", False),
        ("http://localhost:8000", False),
        ("https://localhost", False),
        ("https://trusted.example", True),
        ("http://trusted.example", False),
        ("https://trusted.example:8443", False),
        ("https://evil.example", False),
        ("https://127.0.0.1.evil.example", False),
        ("ftp://127.0.0.1:8000", False),
        ("null", False),
    ],
)
def test_default_allows_the_requests_own_origin_and_csrf_trusted_origins(origin, expected):
    """Without ALLOWED_ORIGINS, only the page's own scheme, host and port, or an entry of CSRF_TRUSTED_ORIGINS, is allowed."""
    with allowed_origins(None):
        assert expected is is_origin_allowed(handshake(origin))


@pytest.mark.parametrize("origin, expected", [("https://localhost", True), ("http://localhost", False)])
def test_a_secure_request_wants_an_https_origin(origin, expected):
    """A handshake over TLS is same-origin only with an https page."""
    with allowed_origins(None):
        assert expected is is_origin_allowed(handshake(origin, host="localhost", secure=True))


@pytest.mark.parametrize(
    "proxy_header, origin, expected",
    [
        (("HTTP_X_FORWARDED_PROTO", "https"), "https://localhost", True),
        (("HTTP_X_FORWARDED_PROTO", "https"), "http://localhost", False),
        (None, "https://localhost", False),
        (None, "http://localhost", True),
    ],
)
def test_secure_proxy_ssl_header_decides_the_requests_scheme(proxy_header, origin, expected):
    """Behind a TLS proxy, SECURE_PROXY_SSL_HEADER makes the request https, as it does for Django's CSRF check."""
    with allowed_origins(None), override_settings(SECURE_PROXY_SSL_HEADER=proxy_header):
        assert expected is is_origin_allowed(handshake(origin, host="localhost", HTTP_X_FORWARDED_PROTO="https"))


def test_a_host_that_allowed_hosts_refuses_is_no_same_origin():
    """A handshake whose Host is not in ALLOWED_HOSTS is not same-origin with a page of that host."""
    with allowed_origins(None):
        assert False is is_origin_allowed(handshake("http://evil.example", host="evil.example"))


@pytest.mark.parametrize(
    "origin, expected",
    [("https://example.org", True), ("https://a.example.org", True), ("https://a.example.org:8443", False), ("http://a.example.org", False)],
)
def test_wildcard_csrf_trusted_origins_cover_subdomains(origin, expected):
    """A "https://*.example.org" entry of CSRF_TRUSTED_ORIGINS allows the domain and its subdomains, that scheme, no port."""
    with allowed_origins(None), override_settings(CSRF_TRUSTED_ORIGINS=["https://*.example.org"]):
        assert expected is is_origin_allowed(handshake(origin))


@pytest.mark.parametrize(
    "host, origin, expected",
    [("localhost:3000", "http://localhost:3000", True), ("app.localhost", "http://app.localhost", True),
     ("[::1]:8000", "http://[::1]:8000", True), ("example.com", "http://example.com", False)],
)
def test_debug_without_allowed_hosts_uses_djangos_local_hosts(host, origin, expected):
    """With DEBUG and an empty ALLOWED_HOSTS, a page of the local hosts Django accepts is same-origin, and nothing else."""
    with override_settings(DEBUG=True, ALLOWED_HOSTS=[], CSRF_TRUSTED_ORIGINS=[], SOCKETIO_VIEWS={}):
        assert expected is is_origin_allowed(handshake(origin, host=host))


ORIGINS = [
    "http://127.0.0.1:8000", "https://127.0.0.1:8000", "http://127.0.0.1", "http://localhost:8000", "https://localhost",
    "http://localhost", "https://trusted.example", "http://trusted.example", "https://a.example.org", "https://example.org",
    "https://a.example.org:8443", "https://example.org.evil.example", "https://evil.example", "null", "http://[::1",
]
HANDSHAKES = [("127.0.0.1:8000", False), ("localhost", False), ("localhost", True), ("evil.example", False)]


@pytest.mark.parametrize("host, secure", HANDSHAKES)
def test_the_check_agrees_with_djangos_csrf_origin_check(host, secure):
    """Without ALLOWED_ORIGINS, an origin is allowed exactly when Django's CSRF check accepts it for the same request."""
    with allowed_origins(None), override_settings(CSRF_TRUSTED_ORIGINS=["https://trusted.example", "https://*.example.org"]):
        ours = {origin: is_origin_allowed(handshake(origin, host=host, secure=secure)) for origin in ORIGINS}
        djangos = {origin: django_accepts(handshake(origin, host=host, secure=secure)) for origin in ORIGINS}
    assert djangos == ours


def test_changing_the_setting_takes_effect_at_once():
    """views_settings reloads when SOCKETIO_VIEWS changes, so the check follows the current setting."""
    with allowed_origins(["https://one.example"]):
        first = is_origin_allowed(handshake("https://one.example")), is_origin_allowed(handshake("https://two.example"))
    with allowed_origins(["https://two.example"]):
        second = is_origin_allowed(handshake("https://one.example")), is_origin_allowed(handshake("https://two.example"))
    assert [(True, False), (False, True)] == [first, second]
