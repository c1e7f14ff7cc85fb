"""No HTTP views: the project serves only the websocket route of asgi.py."""
urlpatterns = []
