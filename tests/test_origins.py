"""socketio_views.origins: which pages may open channels (see docs/security.rst, "Configuring the origin check")."""
import pytest
from django.test import override_settings

from socketio_views.origins import is_origin_allowed, origin_matches

LISTED = ["https://app.example.com", "https://*.example.org", "http://localhost:3000"]


def allowed_origins(value):
    """Settings with ``SOCKETIO_VIEWS["ALLOWED_ORIGINS"] = value``."""
    return override_settings(SOCKETIO_VIEWS={"ALLOWED_ORIGINS": value})


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
    ],
)
def test_wildcard_entry_matches_nothing_else(origin):
    """"https://*.example.com" does not match other domains, mere suffixes, another scheme, or a port."""
    assert False is origin_matches(origin, "https://*.example.com")


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
        assert True is is_origin_allowed(origin)


@pytest.mark.parametrize(
    "origin",
    [
        # Allowed by ALLOWED_HOSTS / CSRF_TRUSTED_ORIGINS of tests/settings.py, which the list replaces.
        "http://127.0.0.1:8000",
        "http://localhost",
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
    """With a list of ALLOWED_ORIGINS, every origin matching no entry is refused, even one ALLOWED_HOSTS allows."""
    with allowed_origins(LISTED):
        assert False is is_origin_allowed(origin)


def test_empty_allowed_origins_list_refuses_every_origin():
    """ALLOWED_ORIGINS = [] refuses every page that sends an Origin."""
    with allowed_origins([]):
        assert [False, False] == [is_origin_allowed("http://127.0.0.1:8000"), is_origin_allowed("https://trusted.example")]


@pytest.mark.parametrize("value", [None, [], LISTED, "*"])
def test_no_origin_is_always_allowed(value):
    """A request without Origin (not from another site's page) is accepted whatever ALLOWED_ORIGINS says."""
    with allowed_origins(value):
        assert True is is_origin_allowed(None)


@pytest.mark.parametrize("origin", ["https://evil.example", "null", "http://127.0.0.1:8000"])
def test_star_allows_every_origin(origin):
    """ALLOWED_ORIGINS = "*" allows every origin."""
    with allowed_origins("*"):
        assert True is is_origin_allowed(origin)


@pytest.mark.parametrize(
    "origin, expected",
    [
        ("http://127.0.0.1:8000", True),
        ("https://localhost", True),
        ("http://testserver:1234", True),
        ("https://trusted.example", True),
        ("http://trusted.example", False),
        ("https://evil.example", False),
        ("https://127.0.0.1.evil.example", False),
        ("ftp://127.0.0.1", False),
        ("null", False),
    ],
)
def test_default_derives_origins_from_allowed_hosts_and_csrf_trusted_origins(origin, expected):
    """Without ALLOWED_ORIGINS, an http(s) origin whose host ALLOWED_HOSTS allows, or one of CSRF_TRUSTED_ORIGINS, is allowed."""
    with allowed_origins(None):
        assert expected is is_origin_allowed(origin)


@pytest.mark.parametrize(
    "origin, expected",
    [("http://localhost:3000", True), ("http://app.localhost", True), ("http://[::1]:8000", True), ("http://example.com", False)],
)
def test_debug_without_allowed_hosts_uses_djangos_local_hosts(origin, expected):
    """With DEBUG and an empty ALLOWED_HOSTS, the local hosts Django accepts are allowed, and nothing else."""
    with override_settings(DEBUG=True, ALLOWED_HOSTS=[], CSRF_TRUSTED_ORIGINS=[], SOCKETIO_VIEWS={}):
        assert expected is is_origin_allowed(origin)


def test_changing_the_setting_takes_effect_at_once():
    """views_settings reloads when SOCKETIO_VIEWS changes, so the check follows the current setting."""
    with allowed_origins(["https://one.example"]):
        first = is_origin_allowed("https://one.example"), is_origin_allowed("https://two.example")
    with allowed_origins(["https://two.example"]):
        second = is_origin_allowed("https://one.example"), is_origin_allowed("https://two.example")
    assert [(True, False), (False, True)] == [first, second]
