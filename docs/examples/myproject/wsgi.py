"""docs/drain.rst: socketio_views' WSGI application, for servers that do not wrap it themselves."""
# [wsgi]
from socketio_views.wsgi import get_wsgi_application

application = get_wsgi_application()
# [/wsgi]
