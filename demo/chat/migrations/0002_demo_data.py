"""The demo's starting point: a lobby, a members-only room, and two users (password "demo"), alice the admin."""
from django.contrib.auth.hashers import make_password
from django.db import migrations


def create_demo_data(apps, schema_editor):
    Room = apps.get_model("chat", "Room")
    User = apps.get_model("auth", "User")
    Room.objects.get_or_create(slug="lobby")
    Room.objects.get_or_create(slug="members", defaults={"members_only": True})
    for username in ("alice", "bob"):
        # alice is the demo's admin: she may open /admin/ and its live channels page.
        admin = username == "alice"
        User.objects.get_or_create(
            username=username, defaults={"password": make_password("demo"), "is_staff": admin, "is_superuser": admin}
        )


class Migration(migrations.Migration):
    dependencies = [("chat", "0001_initial"), ("auth", "0012_alter_user_first_name_max_length")]
    operations = [migrations.RunPython(create_demo_data, migrations.RunPython.noop)]
