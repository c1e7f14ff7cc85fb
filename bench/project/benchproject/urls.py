from django.urls import include, path

from benchchat.routing import router

urlpatterns = [
    path("socket.io/", include(router.urls)),
]
