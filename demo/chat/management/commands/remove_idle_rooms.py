"""``manage.py remove_idle_rooms``: delete visitors' rooms without a message for a day (run it from cron)."""
from django.core.management.base import BaseCommand

from chat.rooms import remove_idle_rooms


class Command(BaseCommand):
    help = "Delete the rooms visitors created that nobody has written in for CHAT_IDLE_ROOM_TTL (a day); built-in rooms stay."

    def handle(self, *args, **options):
        removed = remove_idle_rooms()
        self.stdout.write(f"Removed {len(removed)} idle room(s){': ' + ', '.join(removed) if removed else '.'}")
