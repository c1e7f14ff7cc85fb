"""Rooms remember their last message (idle rooms are removed); demo user alice is staff (she may announce)."""
from django.db import migrations, models


def make_alice_staff(apps, schema_editor):
    apps.get_model("auth", "User").objects.filter(username="alice").update(is_staff=True)


class Migration(migrations.Migration):
    dependencies = [("chat", "0002_demo_data")]
    operations = [
        migrations.AddField("room", "last_message", models.DateTimeField(blank=True, null=True)),
        migrations.RunPython(make_alice_staff, migrations.RunPython.noop),
    ]
