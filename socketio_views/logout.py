"""
Logout ends sockets: the receivers that end the subscriptions of a session or a user, in every process.

:func:`connect_receivers` (called when the app is ready) listens for
Django's ``user_logged_out`` and for the deletion of sessions; each ends,
through the hub of this process (:func:`socketio_views.hubs.get_hub`), the
subscriptions opened with that session, in every process. See
:mod:`socketio_views.identity` for what "ended" means to a connection.

Example usage (what :func:`socketio_views.disconnect_user` does)::

    from socketio_views.logout import end_user

    end_user(request.user)
"""
from importlib import import_module

from django.apps import apps
from django.conf import settings
from django.db.models.signals import post_delete
from django.utils import timezone

from .hubs import get_hub
from .identity import session_hash
from .logs import logger


def end_session(session_key):
    """End the subscriptions opened with Django session ``session_key``, in every process."""
    _end(session=session_hash(session_key))


def end_user(user):
    """End every subscription of ``user`` (a user or its primary key), in every process."""
    pk = getattr(user, "pk", user)
    if pk is None:
        raise ValueError(f"{user!r} has no primary key: save it first.")
    _end(user=str(pk))


def _end(**identity):
    get_hub().end_identity(**identity)


def _on_user_logged_out(sender, request=None, **kwargs):
    if request is None:
        return
    session = getattr(request, "session", None)
    key = session.session_key if session is not None else None
    if key is None:
        key = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
    if key:
        _end_quietly(key)


def _on_session_deleted(sender, instance, **kwargs):
    expires = getattr(instance, "expire_date", None)
    if expires is not None and expires <= timezone.now():
        return  # expired: nothing authenticates with it any more (and clearsessions deletes them by the thousand)
    _end_quietly(instance.session_key)


def _end_quietly(session_key):
    # A logout must succeed even if the sockets cannot be told.
    try:
        end_session(session_key)
    except Exception:
        logger.exception("Could not end the subscriptions of a session that ended")


def session_model():
    """The model of ``SESSION_ENGINE``'s sessions (``None`` for engines without one, such as cache or signed cookies)."""
    store = import_module(settings.SESSION_ENGINE).SessionStore
    get_model_class = getattr(store, "get_model_class", None)
    if get_model_class is None:
        return None
    try:
        return get_model_class()
    except (ImportError, LookupError, RuntimeError):
        return None  # django.contrib.sessions is not installed


def connect_receivers():
    """Listen for ``user_logged_out`` and for the deletion of sessions (called when the app is ready)."""
    if apps.is_installed("django.contrib.auth"):
        from django.contrib.auth.signals import user_logged_out

        user_logged_out.connect(_on_user_logged_out, dispatch_uid="socketio_views.identity.logout")
    model = session_model()
    if model is not None:
        post_delete.connect(_on_session_deleted, sender=model, dispatch_uid="socketio_views.identity.session_deleted")
