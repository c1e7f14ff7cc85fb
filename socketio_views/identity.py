"""
Who a connection is, and what ends it.

A connection is opened with a Django session (its cookie) and, through it, a
user. Two guarantees follow:

* **Logout ends sockets.** When a session ends (Django's ``user_logged_out``,
  or its row deleted or flushed) or :func:`~socketio_views.disconnect_user`
  names a user, the subscriptions opened with that session or by that user
  end, in every process, with the error ``logged_out``, and their
  connections are anonymous from then on. Each new subscription of a
  connection also checks again that its session still authenticates its
  user (:func:`subscription_request`).
* **An Engine.IO session id is not a bearer token.** A request for an
  existing Engine.IO session must bring the session cookie its handshake
  brought (or none, as it did) and the same ``Origin``
  (:meth:`Identity.owns`).

Only a keyed hash of a session key is kept (:func:`session_hash`), never the key.
"""
from importlib import import_module

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import parse_cookie
from django.utils.crypto import constant_time_compare, salted_hmac

from .exceptions import AccessRevoked, ChannelError
from .logs import logger
from .origins import is_environ_origin_allowed


#: The namespace of the messages that end identities in every process. No
#: channel's namespace can be it: channel names never start with ``/``.
CONTROL_NAMESPACE = "//socketio_views/identity"
#: The event of those messages.
ENDED_EVENT = "identity_ended"


def session_hash(session_key):
    """A keyed hash (HMAC with ``SECRET_KEY``) of ``session_key``, the same in every process; ``None`` for no key."""
    if not session_key:
        return None
    return salted_hmac("socketio_views.identity", session_key, algorithm="sha256").hexdigest()[:32]


def session_cookie(environ):
    """The Django session cookie of WSGI ``environ``'s request, or ``None``."""
    cookies = environ.get("HTTP_COOKIE")
    if not cookies:
        return None
    return parse_cookie(cookies).get(settings.SESSION_COOKIE_NAME) or None


def user_key(request):
    """The key (``str(pk)``) of ``request``'s authenticated user, or ``None``."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or user.pk is None:
        return None
    return str(user.pk)


def _same(a, b):
    if a is None or b is None:
        return a is b
    return constant_time_compare(a, b)


class Identity:
    """Who opened one Engine.IO connection: the hash of its session cookie, its ``Origin``, and its user once known."""

    __slots__ = ("session", "origin", "user", "ended")

    def __init__(self, session=None, origin=None):
        #: :func:`session_hash` of the handshake's session cookie, or ``None`` without one.
        self.session = session
        #: The handshake's ``Origin``, or the first allowed one a later request brought.
        self.origin = origin
        #: The user's key once a subscription has resolved it (``None``: anonymous, or not known yet).
        self.user = None
        #: Whether its session or user has ended: the connection is anonymous from then on.
        self.ended = False

    @classmethod
    def of(cls, environ):
        """The identity of the connection whose handshake request is WSGI ``environ``."""
        return cls(session_hash(session_cookie(environ)), environ.get("HTTP_ORIGIN"))

    def owns(self, environ):
        """Whether a request (WSGI ``environ``) for this connection's Engine.IO session comes from its client.

        It must bring the handshake's session cookie, or none if the
        handshake brought none. If it sends an ``Origin``, that must be the
        handshake's; a handshake without one (a same-origin page's GET) is
        bound to the first ``Origin`` that a later request brings and the
        origin check allows (a same-origin POST or WebSocket upgrade).
        """
        if not _same(session_hash(session_cookie(environ)), self.session):
            return False
        origin = environ.get("HTTP_ORIGIN")
        if origin is None or origin == self.origin:
            return True
        if self.origin is None and is_environ_origin_allowed(environ):
            self.origin = origin
            return True
        return False

    def matches(self, session=None, user=None):
        """Whether this connection was opened with session hash ``session`` or by user key ``user``."""
        return (session is not None and _same(session, self.session)) or (user is not None and user == self.user)

    def __repr__(self):
        return f"<Identity user={self.user!r} ended={self.ended}>"




# Subscriptions.


def subscription_request(request, identity):
    """The request a new subscription of a connection gets: a copy of its handshake ``request``.

    Anonymous if the connection's identity has ended. Otherwise, if the
    handshake's session was read already (by an earlier subscription), it is
    read again: if it no longer authenticates the same user (logged out,
    flushed, deleted, expired, or another login), the identity ends here and
    the copy is anonymous. A first read is fresh anyway, so a connection's
    first subscription costs no query more than before.
    """
    if identity is not None and not identity.ended:
        try:
            ended = _session_has_ended(request)
        except Exception:
            # The session store is unreachable: this subscription is anonymous, the connection is kept.
            logger.exception("Could not check the session of a new subscription; subscribing it anonymously")
            request = _copy(request)
            make_anonymous(request)
            return request
        if ended:
            end(identity, request)
    return _copy(request)


def _copy(request):
    # copy.copy() without its generic protocol (__reduce_ex__), on every subscription.
    duplicate = request.__class__.__new__(request.__class__)
    duplicate.__dict__.update(request.__dict__)
    return duplicate


def _session_has_ended(request):
    from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY

    session = getattr(request, "session", None)
    if session is None or session.session_key is None or not session.accessed:
        return False
    user_id = session.get(SESSION_KEY)
    if user_id is None:
        return False  # anonymous: there is no user to lose
    fresh = type(session)(session.session_key)
    return fresh.get(SESSION_KEY) != user_id or fresh.get(HASH_SESSION_KEY) != session.get(HASH_SESSION_KEY)


def note_subscription(identity, request):
    """Remember the user of a connection once a subscription has resolved it (``request``: the subscription's)."""
    if identity is None or identity.ended or identity.user is not None:
        return
    try:
        identity.user = user_key(request)
    except Exception:
        logger.exception("Could not resolve the user of a subscription")


def end(identity, request):
    """End ``identity``: its connection's handshake ``request`` becomes anonymous, for every later subscription."""
    identity.ended = True
    if request is not None:
        make_anonymous(request)


def make_anonymous(request):
    """Give ``request`` an anonymous user and an empty, new session, and drop its session cookie."""
    if hasattr(request, "session"):
        request.session = import_module(settings.SESSION_ENGINE).SessionStore()
    cookies = request.__dict__.get("COOKIES")
    if cookies and settings.SESSION_COOKIE_NAME in cookies:
        request.COOKIES = {k: v for k, v in cookies.items() if k != settings.SESSION_COOKIE_NAME}
    if hasattr(request, "user"):
        from django.contrib.auth.models import AnonymousUser

        anonymous = AnonymousUser()
        request.user = anonymous
        if hasattr(request, "auser"):

            async def auser():
                return anonymous

            request.auser = auser


# Revocation: a user's subscriptions checked again (socketio_views.revocation).


def fresh_user(request):
    """``request``'s user read afresh: through its session and the authentication backends if it has one, else by key.

    A user who can no longer log in (deactivated, deleted, or whose
    password changed) comes back as ``AnonymousUser``, as Django's
    ``get_user()`` gives it.
    """
    from django.contrib.auth import SESSION_KEY, get_user
    from django.contrib.auth.models import AnonymousUser

    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return user
    session = getattr(request, "session", None)
    if session is not None and session.get(SESSION_KEY) is not None:
        return get_user(request)
    reloaded = type(user)._default_manager.filter(pk=user.pk).first()
    if reloaded is None or not getattr(reloaded, "is_active", True):
        return AnonymousUser()
    return reloaded


def set_user(request, user):
    """Give ``request`` the user ``user`` (``request.user`` and ``request.auser()``)."""
    request.user = user
    if hasattr(request, "auser"):

        async def auser():
            return user

        request.auser = auser


def recheck(identity, request, views):
    """Run the access checks of ``views`` (one connection's subscriptions) again, with their user read afresh.

    ``identity`` and ``request`` are the connection's, whose later
    subscriptions get the fresh user too. Returns ``[(view, error)]`` for
    the subscriptions to end with ``error``
    (:exc:`~socketio_views.exceptions.AccessRevoked`): all of them, and
    the identity ended, if the user can no longer log in; else those whose
    :meth:`~socketio_views.views.ChannelView.check_access` raised. A check
    that fails for any other reason (the database unreachable) ends its
    subscription too: access checks do not fail open.
    """
    try:
        user = fresh_user(request)
    except Exception:
        logger.exception("Could not read a user again to check their subscriptions; ending them")
        user = None
    if user is None or not user.is_authenticated:
        end(identity, request)
        return [(view, AccessRevoked()) for view in views]
    set_user(request, user)
    revoked = []
    for view in views:
        set_user(view.request, user)
        try:
            view.check_access()
        except Exception as exc:
            if not isinstance(exc, (ChannelError, PermissionDenied)):
                logger.exception("The access check of %r failed; ending it", view)
            revoked.append((view, AccessRevoked()))
    return revoked


# The messages that end identities in every process.


def parse_control(message):
    """``{"session": ..., "user": ..., "recheck": [...]}`` from a control message, or ``None`` if it is not one.

    ``recheck`` lists the keys of the users whose subscriptions check their
    access again (:mod:`socketio_views.revocation`); ``session`` and
    ``user`` name what ends (a logout).
    """
    data = message.get("data")
    if not isinstance(data, list) or not data or not isinstance(data[0], dict):
        return None
    session, user, users = data[0].get("session"), data[0].get("user"), data[0].get("recheck")
    return {
        "session": session if isinstance(session, str) else None,
        "user": user if isinstance(user, str) else None,
        "recheck": [key for key in users if isinstance(key, str)] if isinstance(users, list) else [],
    }
