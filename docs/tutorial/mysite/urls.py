from django.contrib import admin
from django.urls import include, path
from django.views.generic import TemplateView

from chat.routing import router

urlpatterns = [
    path("admin/", admin.site.urls),
    path("socket.io/", include(router.urls)),
    path("", TemplateView.as_view(template_name="chat/room.html")),
]
