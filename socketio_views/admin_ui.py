"""
python-socketio's support of the Socket.IO Admin UI (https://admin.socket.io), for staff users only.

Off by default; one setting turns it on::

    SOCKETIO_VIEWS = {"ADMIN_UI": True}
    # or with options:
    SOCKETIO_VIEWS = {"ADMIN_UI": {"read_only": False, "allowed_origins": ["https://admin.socket.io"]}}

The UI connects to the namespace ``/admin`` of the project's Socket.IO
endpoint. The connection is accepted only if the Django session of its
request authenticates an active staff user (no second password), and its
``Origin`` is allowed as for any subscription (``ALLOWED_ORIGINS``, the
site's own origin, ``CSRF_TRUSTED_ORIGINS``) or listed in
``allowed_origins``. See ``docs/operations.rst``.
"""
from django.core.exceptions import ImproperlyConfigured
from socketio.admin import InstrumentedServer
from socketio.exceptions import ConnectionRefusedError

from . import dispatch, identity
from .conf import views_settings
from .db import release_db_connections
from .exceptions import LoggedOut, LoginRequired, OriginNotAllowed, PermissionRefused
from .logs import logger
from .origins import is_origin_allowed
from .transport.environ import REQUEST_KEY

#: The options of ``ADMIN_UI = True``; a dict given instead overrides some of them.
DEFAULT_OPTIONS = {
    # "production" sends statistics only; "development" also lists every
    # socket with its handshake (less its Cookie and Authorization headers)
    # and every event, which costs CPU on every packet.
    "mode": "production",
    # Whether the UI may not emit, join, leave or disconnect (development mode).
    "read_only": True,
    "namespace": "/admin",
    # The name this process shows in the UI (None: python-socketio's choice).
    "server_id": None,
    "server_stats_interval": 2,
    # Origins allowed to open the UI besides those any subscription may come
    # from, e.g. ["https://admin.socket.io"].
    "allowed_origins": [],
}

#: Handshake headers never shown in the UI.
HIDDEN_HEADERS = frozenset({"cookie", "authorization", "proxy-authorization"})


def admin_ui_options():
    """The Admin UI's options from ``ADMIN_UI``, or ``None`` when it is off."""
    setting = views_settings.ADMIN_UI
    if not setting:
        return None
    if setting is True:
        return dict(DEFAULT_OPTIONS)
    if not isinstance(setting, dict):
        raise ImproperlyConfigured(
            f"SOCKETIO_VIEWS['ADMIN_UI'] must be False, True or a dict of options (got {setting!r})."
        )
    unknown = sorted(set(setting) - set(DEFAULT_OPTIONS))
    if unknown:
        raise ImproperlyConfigured(
            f"SOCKETIO_VIEWS['ADMIN_UI'] has unknown options {unknown}; valid ones are {sorted(DEFAULT_OPTIONS)}."
        )
    return {**DEFAULT_OPTIONS, **setting}


class StaffAdminUI(InstrumentedServer):
    """python-socketio's ``InstrumentedServer`` whose namespace admits the active staff users of the Django session.

    :param sio: the :class:`~socketio_views.transport.server.ChannelServer` to instrument.
    :param allowed_origins: origins allowed besides those of any subscription.
    :param options: ``mode``, ``read_only``, ``namespace``, ``server_id`` and
        ``server_stats_interval``, as ``socketio.Server.instrument()`` takes them.

    A refused connection gets ``connect_error`` with ``login_required``,
    ``permission_denied`` or ``origin_not_allowed``.
    """

    def __init__(self, sio, allowed_origins=(), **options):
        self.allowed_origins = frozenset(allowed_origins)
        # Authentication is ours (admin_connect); python-socketio's own
        # credentials would be a second password.
        super().__init__(sio, auth=False, **options)

    def admin_connect(self, sid, environ, client_auth):
        try:
            error = self.refusal(sid, environ)
        finally:
            release_db_connections()
        fields = {
            "connection_id": self.sio.manager.eio_sid_from_sid(sid, self.admin_namespace),
            "sid": sid,
            "channel": self.admin_namespace[1:],
        }
        if error is not None:
            dispatch.log_refusal(error, "A Socket.IO Admin UI connection", sid, **fields)
            raise ConnectionRefusedError(error.message, error.as_dict())
        logger.info("Socket.IO Admin UI connected (%s)", sid, **fields)
        return super().admin_connect(sid, environ, client_auth)

    def refusal(self, sid, environ):
        """Why the connection ``sid`` with WSGI ``environ`` may not open the UI (a ChannelError), or ``None``."""
        request = environ.get(REQUEST_KEY)
        if request is None:
            return PermissionRefused("The Socket.IO Admin UI is served through the Socket.IO endpoint only.")
        origin = request.META.get("HTTP_ORIGIN")
        if origin is not None and origin not in self.allowed_origins and not is_origin_allowed(request):
            return OriginNotAllowed(
                f"Origin {origin!r} may not open the Socket.IO Admin UI; add it to "
                f"SOCKETIO_VIEWS['ADMIN_UI']['allowed_origins']."
            )
        connection = self.sio.connections.get(self.sio.manager.eio_sid_from_sid(sid, self.admin_namespace))
        owner = connection.identity if connection is not None else None
        request = identity.subscription_request(request, owner)
        user = request.user
        if not user.is_authenticated:
            return LoginRequired("Log in as a staff user to open the Socket.IO Admin UI.")
        if not (user.is_active and user.is_staff):
            return PermissionRefused("The Socket.IO Admin UI is for staff users.")
        # Its logout ends the UI's connection (see end()).
        identity.note_subscription(owner, request)
        return None

    def end(self, connection_ids):
        """Close the UI's namespace on connections ``connection_ids``, whose user logged out (``logged_out``)."""
        for connection_id in connection_ids:
            sid = self.sio.manager.sid_from_eio_sid(connection_id, self.admin_namespace)
            if sid is not None:
                self.sio.send_error(sid, self.admin_namespace, LoggedOut(), ignore_queue=True)
                self.sio.disconnect(sid, namespace=self.admin_namespace, ignore_queue=True)

    def serialize_socket(self, sid, namespace, eio_sid=None):
        serialized = super().serialize_socket(sid, namespace, eio_sid)
        headers = serialized["handshake"]["headers"]
        serialized["handshake"]["headers"] = {k: v for k, v in headers.items() if k not in HIDDEN_HEADERS}
        return serialized


def instrument(sio):
    """Instrument ``sio`` for the Admin UI if ``ADMIN_UI`` is on; return the :class:`StaffAdminUI` or ``None``."""
    options = admin_ui_options()
    if options is None:
        return None
    allowed = options.pop("allowed_origins")
    return StaffAdminUI(sio, allowed_origins=allowed, **options)
