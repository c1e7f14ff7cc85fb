# The permissions of the live channels page (see socketio_views/models.py).

from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
    ]

    operations = [
        migrations.CreateModel(
            name='LiveChannels',
            fields=[
                ('id', models.AutoField(primary_key=True, serialize=False)),
            ],
            options={
                'verbose_name': 'live channels page',
                'verbose_name_plural': 'live channels page',
                'permissions': [('view_live_channels', 'Can see the live channels page'), ('operate_live_channels', 'Can send to channels and end subscriptions on the live channels page')],
                'managed': False,
                'default_permissions': (),
            },
        ),
    ]
