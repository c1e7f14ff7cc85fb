"""docs/routing.rst: the router's endpoint in the project's URLconf."""
from django.urls import include, path

# [urls]
# myproject/urls.py
from chat.routing import router

urlpatterns = [
    path("socket.io/", include(router.urls)),
    # ...
]
# [/urls]
