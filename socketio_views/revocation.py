"""
Revocation is immediate: when a user's access may have shrunk, every subscription of that user checks it again, in every process.

:func:`connect_receivers` (called when the app is ready) listens for the
saves and deletions of users, and for the changes of their groups and
permissions (``m2m_changed``); each, once its transaction commits, asks
every process, through the hub of this process
(:func:`socketio_views.hubs.get_hub`), to run the access checks of that
user's subscriptions again (:meth:`~socketio_views.views.ChannelView.check_access`)
with the user read afresh from the database. A subscription that fails them
gets the ``access_revoked`` error and ends; a user who can no longer log in
(``is_active = False``, deleted) loses every subscription, and the
connection is anonymous from then on.

What triggers it:

* a user saved (all fields, or ``update_fields`` naming ``is_active``,
  ``is_staff``, ``is_superuser`` or ``password``) or deleted;
* groups or permissions removed from a user, users removed from a group or
  a permission, permissions removed from a group, a group deleted.

Adding rights revokes nothing, so it triggers nothing. For a rule that
these signals do not see (a ban stored on a profile), call
:func:`recheck_user` after changing it, or end the user's subscriptions
outright::

    from socketio_views import disconnect_user
    from socketio_views.revocation import recheck_user

    profile.banned = True
    profile.save()
    recheck_user(profile.user)     # subscriptions whose check_access() now fails end
    disconnect_user(profile.user)  # or: every subscription ends (logged_out)
"""
from django.apps import apps
from django.conf import settings
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete

from .hubs import get_hub
from .logs import logger

#: The fields of a user whose saving (``update_fields``) rechecks its subscriptions.
WATCHED_FIELDS = frozenset({"is_active", "is_staff", "is_superuser", "password"})
#: How many user keys one control message carries at most.
BATCH = 1000


def recheck_user(user):
    """Run the access checks of every subscription of ``user`` (a user or its primary key) again, in every process."""
    pk = getattr(user, "pk", user)
    if pk is None:
        raise ValueError(f"{user!r} has no primary key: save it first.")
    recheck_users([pk])


def recheck_users(users):
    """Run the access checks of every subscription of ``users`` (primary keys) again, in every process, once the
    current transaction (if any) commits: a check that ran before would read the rights as they were."""
    keys = sorted({str(pk) for pk in users if pk is not None})
    if keys:
        transaction.on_commit(lambda: _send(keys))


def _send(keys):
    # A change of rights must succeed even if the sockets cannot be told.
    try:
        hub = get_hub()
        for start in range(0, len(keys), BATCH):
            hub.recheck_users(keys[start:start + BATCH])
    except Exception:
        logger.exception("Could not ask the sockets of %d user(s) to check their access again", len(keys))


def _on_user_saved(sender, instance, created=False, update_fields=None, raw=False, **kwargs):
    if created or raw:
        return
    if update_fields is not None and not WATCHED_FIELDS.intersection(update_fields):
        return  # last_login at each login, and the like
    recheck_users([instance.pk])


def _on_user_deleted(sender, instance, **kwargs):
    recheck_users([instance.pk])


def _users(**lookup):
    return list(apps.get_model(settings.AUTH_USER_MODEL)._default_manager.filter(**lookup).values_list("pk", flat=True))


def _members_of_deleted_group(sender, instance, **kwargs):
    recheck_users(_users(groups=instance))


def _user_rights_changed(field):
    # User.groups and User.user_permissions: rights of the users concerned shrink on remove and clear.
    def receiver(sender, instance, action, reverse, pk_set, **kwargs):
        if not reverse:
            if action in ("post_remove", "post_clear"):
                recheck_users([instance.pk])
        elif action == "post_remove":
            recheck_users(pk_set or ())
        elif action == "pre_clear":
            recheck_users(_users(**{field: instance}))

    return receiver


def _group_permissions_changed(sender, instance, action, reverse, pk_set, **kwargs):
    if not reverse:  # instance: a group
        if action in ("post_remove", "post_clear"):
            recheck_users(_users(groups=instance))
    elif action == "post_remove":  # instance: a permission; pk_set: groups
        recheck_users(_users(groups__in=pk_set or ()))
    elif action == "pre_clear":
        recheck_users(_users(groups__permissions=instance))


_receivers = {}


def connect_receivers():
    """Listen for the changes of users, groups and permissions (called when the app is ready)."""
    if not apps.is_installed("django.contrib.auth"):
        return
    from django.contrib.auth.models import Group

    user_model = apps.get_model(settings.AUTH_USER_MODEL)
    post_save.connect(_on_user_saved, sender=user_model, dispatch_uid="socketio_views.revocation.user_saved")
    post_delete.connect(_on_user_deleted, sender=user_model, dispatch_uid="socketio_views.revocation.user_deleted")
    pre_delete.connect(_members_of_deleted_group, sender=Group, dispatch_uid="socketio_views.revocation.group_deleted")
    for field in ("groups", "user_permissions"):
        through = getattr(getattr(user_model, field, None), "through", None)
        if through is None:
            continue  # a custom user model without PermissionsMixin
        receiver = _receivers.setdefault(field, _user_rights_changed(field))
        m2m_changed.connect(receiver, sender=through, dispatch_uid=f"socketio_views.revocation.{field}")
    m2m_changed.connect(
        _group_permissions_changed, sender=Group.permissions.through, dispatch_uid="socketio_views.revocation.group_permissions"
    )
