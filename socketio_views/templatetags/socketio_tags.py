"""
``{% load socketio_tags %}{% socketio_scripts %}``: the official Socket.IO client,
socketio_views.js and the endpoint configuration, in one tag.
"""
from django import template
from django.templatetags.static import static
from django.urls import get_script_prefix
from django.utils.html import format_html, json_script

from ..mounts import mounted_routers

register = template.Library()


def endpoint_path():
    """The path of the Socket.IO endpoint: where the first ChannelRouter is included."""
    routers = mounted_routers()
    prefix = routers[0][0] if routers else "socket.io/"
    return get_script_prefix() + prefix


@register.simple_tag
def socketio_scripts(path=None):
    """Render the script tags of the browser client and its configuration.

    ``path`` overrides the endpoint path (default: where the router is included).
    Static URLs go through ``static()``, so ``STATIC_URL`` and
    ``ManifestStaticFilesStorage`` are respected.
    """
    config = json_script({"path": path or endpoint_path()}, "socketio-views-config")
    return format_html(
        '{}\n<script src="{}"></script>\n<script src="{}"></script>',
        config,
        static("socketio_views/vendor/socket.io.min.js"),
        static("socketio_views/socketio_views.js"),
    )
