"""
``manage.py runserver_socketio [addrport]``: the Django site and its Socket.IO
channels from one gevent server, with Django's autoreloader.
"""
import logging
import os
import shlex
import signal
import subprocess
import sys

from django.apps import apps
from django.conf import settings
from django.contrib.staticfiles.management.commands import runserver
from django.core.management import CommandError
from django.db import connections
from django.utils import autoreload
from gevent import pywsgi
from setproctitle import setproctitle

import gevent

import socketio_views
from socketio_views import drain, logs, monkey
from socketio_views.access import AccessLogHandler
from socketio_views.conf import views_settings
from socketio_views.handlers import with_request_head_timeout
from socketio_views.hub import prepare_hub
from socketio_views.mounts import mounted_routers
from socketio_views.tuning import check_descriptor_budget, tune_for_serving
from socketio_views.wsgi import SocketIOApplication


def configure_logging():
    """Print the package's records from INFO up, unless the project's ``LOGGING`` already handles them.

    The handler goes on the ``socketio_views`` logger, not the root one:
    Django's default ``LOGGING`` prints the ``django`` logger's records
    itself (with ``DEBUG`` on), and they reach the root logger too.
    """
    package_logger = logs.logger.logger
    if not package_logger.hasHandlers():
        package_logger.addHandler(logs.console_handler())
        if package_logger.level == logging.NOTSET:
            package_logger.setLevel(logging.INFO)


def set_process_title():
    """Show the command line that started this process in ``ps`` and ``top``, not the re-exec's bootstrap.

    :func:`~socketio_views.monkey.reexec_patched` replaced the process with
    ``python -c <bootstrap> ...``; the title becomes the command line it
    replaced, such as ``python manage.py runserver_socketio 0.0.0.0:8000``
    (the autoreloader's process and its server's alike, as with ``runserver``).
    """
    command_line = monkey.original_command_line()
    if command_line:
        setproctitle(shlex.join(command_line))


def stop_quietly_on_ctrl_c():
    """Let Ctrl-C stop this process as it stops ``runserver``: no ``KeyboardInterrupt`` printed.

    SIGINT raises :exc:`KeyboardInterrupt` while gevent's hub waits for
    something to do; the hub prints it with a timestamp, then raises it in
    the main greenlet, where Django's autoreloader (or :meth:`Command.inner_run`)
    ends the process with status 0. Both processes of the autoreloader get
    the terminal's SIGINT, so each printed it. The hub of this thread is told
    that it is not an error to print (gevent's ``Hub.NOT_ERROR``); it is
    still raised.
    """
    hub = gevent.get_hub()
    if not issubclass(KeyboardInterrupt, hub.NOT_ERROR):
        hub.NOT_ERROR = (*hub.NOT_ERROR, KeyboardInterrupt)


def unbuffered(argument):
    """Whether a command-line option of Python is ``-u`` (alone or among others, as in ``-Bu``)."""
    return argument == "-u" or (
        argument.startswith("-")
        and not argument.startswith(("--", "-X", "-W"))
        and len(argument) > 2
        and argument[1:].isalpha()
        and "u" in argument
    )


def restart_with_reloader():
    """The autoreloader's process: run the server's process until it exits other than to reload; return its status.

    Django's own ``autoreload.restart_with_reloader()`` is this loop, but its
    process exits on SIGTERM at once, killing the server's process without a
    drain. This one passes SIGTERM on, lets the server's process drain and
    exit, and returns its status. Ctrl-C reaches both processes from the
    terminal: the server's process is given a quarter of a second to exit, as
    ``subprocess.run()`` gives it in Django's.
    """
    environ = {**os.environ, autoreload.DJANGO_AUTORELOAD_ENV: "true"}
    if any(unbuffered(argument) for argument in getattr(sys, "orig_argv", ())[1:]):
        # As Django 6.1's does: python -u keeps the server's output unbuffered.
        environ.setdefault("PYTHONUNBUFFERED", "1")
    arguments = autoreload.get_child_arguments()
    server = None
    stopping = False

    def pass_sigterm_on():
        nonlocal stopping
        stopping = True
        if server is not None and server.poll() is None:
            server.send_signal(signal.SIGTERM)

    handler = gevent.signal_handler(signal.SIGTERM, pass_sigterm_on)
    try:
        while not stopping:
            server = subprocess.Popen(arguments, env=environ, close_fds=False)
            if stopping:  # SIGTERM came while the process started
                server.send_signal(signal.SIGTERM)
            try:
                status = server.wait()
            except KeyboardInterrupt:
                try:
                    server.wait(0.25)
                except subprocess.TimeoutExpired:
                    server.kill()
                    server.wait()
                raise
            if status != 3:
                return status
        return 0
    finally:
        handler.cancel()


class Command(runserver.Command):
    """``runserver`` (with staticfiles' ``--nostatic`` and ``--insecure``) on a gevent server."""

    help = "Starts a gevent server for the Django site and its Socket.IO channels."

    def run_from_argv(self, argv):
        if not monkey.is_patched():
            # Django is already imported unpatched: start again, patched first.
            monkey.reexec_patched(argv)
        set_process_title()
        super().run_from_argv(argv)

    def execute(self, *args, **options):
        if not monkey.is_patched():
            raise CommandError(
                "runserver_socketio needs gevent's monkey-patching before Django is "
                "imported: run it from the command line, or call "
                "socketio_views.monkey.patch() first thing in your entry point."
            )
        stop_quietly_on_ctrl_c()
        return super().execute(*args, **options)

    def run(self, **options):
        if not options["use_reloader"]:
            return super().run(**options)
        if os.environ.get(autoreload.DJANGO_AUTORELOAD_ENV) == "true":
            # The server's process: a drain on SIGTERM ends it (see _drain_and_stop).
            autoreload.autoreload_started.connect(self._keep_reloader, weak=False)
            return super().run(**options)
        try:
            sys.exit(restart_with_reloader())
        except KeyboardInterrupt:
            pass

    def _keep_reloader(self, sender, **kwargs):
        self.reloader = sender

    def get_handler(self, *args, **options):
        if not apps.is_installed("django.contrib.staticfiles"):
            options["use_static_handler"] = False
        return SocketIOApplication.wrap(super().get_handler(*args, **options))

    def inner_run(self, *args, **options):
        autoreload.raise_last_exception()
        if not options["skip_checks"]:
            self.stdout.write("Performing system checks...\n\n")
            self.check(display_num_errors=True)
        self.check_migrations()
        for connection in connections.all(initialized_only=True):
            connection.close()
        configure_logging()
        check_descriptor_budget()
        try:
            server = pywsgi.WSGIServer(
                (self.addr, int(self.port)),
                self.get_handler(*args, **options),
                handler_class=with_request_head_timeout(AccessLogHandler, views_settings.HANDSHAKE_TIMEOUT),
            )
            server.init_socket()
        except OSError as exc:
            self.stderr.write(f"Error: {exc.strerror or exc}")
            sys.exit(1)
        self.print_banner(server.server_port)
        self.drain_on_stop(server, options["use_reloader"])
        prepare_hub()
        tune_for_serving()
        try:
            server.serve_forever()
            # Stopped by SIGTERM's drain. This is the autoreloader's thread for
            # the server (or the process's only one, with --noreload); the
            # process's main thread watches files until the reloader stops.
            reloader = getattr(self, "reloader", None)
            if reloader is not None:
                reloader.stop()
        except KeyboardInterrupt:
            # Ctrl-C (without the autoreloader): stop now, as runserver does,
            # even during a drain; open connections close as the process exits.
            shutdown_message = options.get("shutdown_message", "")
            if shutdown_message:
                self.stdout.write(shutdown_message)
            sys.exit(0)

    def drain_on_stop(self, server, use_reloader):
        """Drain (:mod:`socketio_views.drain`) on SIGTERM, then stop; drain briefly before an autoreload."""
        gevent.signal_handler(signal.SIGTERM, self._drain_and_stop, server)
        if use_reloader:
            autoreload.file_changed.connect(self._drain_before_reload, weak=False)

    def _drain_and_stop(self, server):
        drain.start()
        if not drain.wait(views_settings.DRAIN_NOTICE + drain.state.window + drain.SHUT_GRACE + 5):
            logs.logger.warning("Stopping before the drain is over: %d teardown(s) unfinished", drain.state.tearing_down)
        server.stop(timeout=1)

    def _drain_before_reload(self, sender, file_path, **kwargs):
        drain.start(views_settings.RELOAD_DRAIN_WINDOW, notice=0)
        # The CLOSE packets need a moment to leave before the process exits.
        drain.wait(drain.state.window + 1, shut=False)
        gevent.sleep(0.1)
        # Returning nothing lets Django reload.

    def print_banner(self, port):
        addr = f"[{self.addr}]" if self._raw_ipv6 else self.addr
        lines = [
            f"socketio_views {socketio_views.__version__}, Django {self.get_version()}, "
            f"settings {settings.SETTINGS_MODULE!r}",
            f"Starting gevent server at http://{addr}:{port}/",
        ]
        routers = mounted_routers()
        if not routers:
            lines.append("No ChannelRouter is included in the URLconf.")
        for prefix, router in routers:
            lines.append(f"Socket.IO endpoint /{prefix} serves channels:")
            for registration in router:
                view = registration.view_class
                lines.append(
                    f"  {registration.pattern}  ->  {view.__module__}.{view.__qualname__}"
                )
        lines.append("Quit the server with CONTROL-C.")
        self.stdout.write("\n".join(lines))
        self.stdout.flush()
