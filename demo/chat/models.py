from django.db import models


class Room(models.Model):
    """A chat room; joining a slug that does not exist yet creates it."""

    slug = models.SlugField(unique=True, max_length=50)
    members_only = models.BooleanField(default=False)
    created = models.DateTimeField(auto_now_add=True)
    #: When the last message was sent here: rooms idle for a day are removed (see rooms.remove_idle_rooms).
    last_message = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-members_only", "slug"]

    def __str__(self):
        return self.slug

    @property
    def channel(self):
        """The channel of this room: rooms/<slug>, or members/<slug> for members-only rooms."""
        return f"{'members' if self.members_only else 'rooms'}/{self.slug}"
