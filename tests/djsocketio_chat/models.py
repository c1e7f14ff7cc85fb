"""The models of django-socketio's example chat, in the shape its ``events.py`` uses (written for these tests)."""
from django.db import models
from django.utils.text import slugify


class ChatRoom(models.Model):
    """A chat room; its channel is ``room-<id>``."""

    name = models.CharField(max_length=20)
    slug = models.SlugField(blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        if not self.slug:
            self.slug = slugify(self.name)
        super().save(*args, **kwargs)


class ChatUser(models.Model):
    """Someone in a room, under a name unique in that room; ``session`` is their connection's id."""

    name = models.CharField(max_length=20)
    session = models.CharField(max_length=20)
    room = models.ForeignKey(ChatRoom, related_name="users", on_delete=models.CASCADE)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name
