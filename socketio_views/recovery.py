"""
Connection state recovery: who may take a subscription back, what is replayed, and the sessions that last meanwhile.

Each subscription to a channel with history has a recovery session, kept
under an unguessable ``pid`` that the confirmation gives the client: its
channel, its user and the offset it started from. A reconnecting client sends
back ``{pid, offset}``; :func:`prepare` recovers it, or says why not
(:data:`UNKNOWN_SESSION`...), and the view reads the outcome as
``recovered`` / ``recovery_failure``. This process's
:class:`SessionKeeper` renews the sessions of its live subscriptions, so that
each outlives its subscription by the recovery window. The sessions are kept
by the history store (:mod:`socketio_views.history`); sending the replay is
:mod:`socketio_views.transport.replay`'s concern.

Example usage (a view that tells a recovered subscription from a fresh one)::

    class RoomChannel(ChannelView):
        history = 100

        def on_subscribe(self, room):
            if not self.recovered:
                self.send({"recovery_failure": self.recovery_failure}, event="snapshot")
"""
import logging
import secrets
import threading
import time

from .conf import views_settings
from .history import get_history
from .identity import user_key
from .logs import log_per_burst, logger, of_view
from .offsets import parse_offset
from .state import ProcessWide


#: Why a recovery was refused (a view's ``recovery_failure``).
UNKNOWN_SESSION = "unknown_session"
OTHER_CHANNEL = "other_channel"
OTHER_USER = "other_user"
HISTORY_LOST = "history_lost"
INVALID_OFFSET = "invalid_offset"
HISTORY_UNAVAILABLE = "history_unavailable"



def new_pid():
    """A fresh, unguessable recovery session id."""
    return secrets.token_urlsafe(16)


def claim_of(auth):
    """Split what a reconnecting client sent: ``(auth without pid and offset, (pid, offset) or None)``."""
    if not isinstance(auth, dict) or "pid" not in auth:
        return auth, None
    auth = dict(auth)
    return auth, (auth.pop("pid"), auth.pop("offset", None))


def prepare(view, outbox, claim):
    """Decide whether ``view``'s subscription recovers ``claim``, and what to replay.

    Sets ``view.recovered`` and ``view.recovery_failure``, ``outbox.pid``
    (the claimed one when recovered, else a new one) and ``outbox.replay``:
    the entries the client missed, in order, without those broadcast with
    ``include_self=False`` by the subscription it had; or, for a new
    subscriber, the last ``send_history_on_subscribe`` entries.
    """
    store = get_history()
    if claim is not None:
        session, offset, entries, failure = _recover(store, view, *claim)
        if failure is None:
            view.recovered, outbox.pid, outbox.replay = True, claim[0], entries
            outbox.resume_offset = entries[-1].offset if entries else offset
            outbox.skip_sids = {session["sid"]}
            return
        view.recovery_failure = failure
        log_per_burst(
            logging.INFO, (view.connection_id, failure), "Recovery of %r by %s refused: %s", view.channel, view.sid,
            failure, **of_view(view)
        )
    outbox.pid = new_pid()
    outbox.resume_offset = store.last_offset(view.channel)
    outbox.replay = store.last(view.channel, view.get_send_history_on_subscribe())


def _recover(store, view, pid, offset):
    # new_pid() makes 22 characters: a longer one is made up, and not worth a lookup.
    session = store.load_session(pid) if isinstance(pid, str) and len(pid) <= 64 else None
    if session is None:
        return None, None, None, UNKNOWN_SESSION
    if session["channel"] != view.channel:
        return None, None, None, OTHER_CHANNEL
    if session["user"] != user_key(view.request):
        return None, None, None, OTHER_USER
    if offset is None:
        offset = session["offset"]  # the client received nothing before it dropped
    elif parse_offset(offset) is None:
        return None, None, None, INVALID_OFFSET
    entries = store.after(view.channel, offset)
    if entries is None:
        return None, None, None, HISTORY_LOST
    return session, offset, [e for e in entries if e.skip_sid != session["sid"]], None


def catch_up(view, outbox):
    """Entries kept since ``outbox.resume_offset`` that the replay does not hold yet.

    Fetched once the subscriber is live, so that nothing broadcast between
    :func:`prepare` and then is lost; the transport drops live packets
    already replayed.
    """
    entries = get_history().after(view.channel, outbox.resume_offset) or []
    skipped = outbox.skip_sids
    return [e for e in entries if e.skip_sid not in skipped]


def open_session(view, outbox, policy):
    """Record the recovery session of an accepted subscription; kept alive while it lasts."""
    session = {
        "channel": view.channel,
        "user": user_key(view.request),
        "sid": view.sid,
        "offset": outbox.resume_offset,
    }
    _keeper.get().keep(outbox.pid, session, policy.window)


def close_session(view, outbox, reason, policy):
    """Stop renewing the session: it expires after the recovery window (at once if the client left)."""
    _keeper.get().release(outbox.pid, view.sid, 0 if reason == "client disconnect" else policy.window)


class SessionKeeper:
    """Renews the sessions of this process's live subscriptions, so that a session
    outlives its subscription by the recovery window, even if the process dies."""

    def __init__(self):
        self.live = {}  # pid -> (session, window)
        self._thread = None
        self._closed = False
        self._lock = threading.Lock()

    def keep(self, pid, session, window):
        """Save ``session`` under ``pid`` and renew it every third of ``window`` while its subscription lives."""
        self.live[pid] = (session, window)
        self._save(pid, session, window)
        if self._thread is None:
            with self._lock:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._renew, name="history-sessions", daemon=True)
                    self._thread.start()

    def release(self, pid, sid, window):
        """Stop renewing ``pid`` if subscription ``sid`` still owns it: keep it ``window`` more seconds, or drop it (``0``)."""
        entry = self.live.get(pid)
        if entry is None or entry[0]["sid"] != sid:
            return  # already recovered by a newer subscription, which owns the session now
        del self.live[pid]
        if window:
            # Unless recovered meanwhile on another process (a drain's
            # teardown runs after its client was told to reconnect).
            try:
                get_history().extend_session(pid, entry[0], window)
            except Exception:
                logger.exception(
                    "History: could not save recovery session of %r", entry[0]["channel"], channel=entry[0]["channel"]
                )
        else:
            try:
                get_history().drop_session(pid)
            except Exception:
                logger.exception("History: could not end a recovery session")

    def close(self):
        """Stop renewing (the process ends); the sessions expire after their window."""
        self._closed = True
        self.live.clear()

    def _save(self, pid, session, window):
        try:
            get_history().save_session(pid, session, window)
        except Exception:
            logger.exception(
                "History: could not save recovery session of %r", session["channel"], channel=session["channel"]
            )

    def _renew(self):
        while not self._closed:
            windows = [window for _s, window in self.live.values()] or [views_settings.RECOVERY_WINDOW]
            time.sleep(max(1.0, min(windows) / 3))
            for pid, (session, window) in list(self.live.items()):
                self._renew_one(pid, session, window)

    def _renew_one(self, pid, session, window):
        # Not a plain save: the client may have recovered the session on
        # another process while this one has yet to notice its transport died.
        try:
            kept = get_history().renew_session(pid, session, window)
        except Exception:
            logger.exception(
                "History: could not save recovery session of %r", session["channel"], channel=session["channel"]
            )
            return
        if not kept and self.live.get(pid, (None,))[0] is session:
            del self.live[pid]  # recovered elsewhere, which renews it now


_keeper = ProcessWide(SessionKeeper, close=lambda keeper: keeper.close())
