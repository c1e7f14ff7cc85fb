# The history kept in the database (see socketio_views/history_db.py).

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('socketio_views', '0001_initial'),
    ]

    operations = [
        migrations.CreateModel(
            name='HistoryStream',
            fields=[
                ('channel', models.CharField(max_length=200, primary_key=True, serialize=False)),
                ('last_ms', models.BigIntegerField(default=0)),
                ('last_seq', models.BigIntegerField(default=-1)),
                ('appended', models.BigIntegerField(default=0)),
                ('first', models.BigIntegerField(default=1)),
                ('expires', models.FloatField(db_index=True)),
            ],
            options={
                'verbose_name': 'history stream',
                'default_permissions': (),
            },
        ),
        migrations.CreateModel(
            name='RecoverySession',
            fields=[
                ('pid', models.CharField(max_length=64, primary_key=True, serialize=False)),
                ('sid', models.CharField(max_length=100)),
                ('session', models.TextField()),
                ('expires', models.FloatField(db_index=True)),
            ],
            options={
                'verbose_name': 'recovery session',
                'default_permissions': (),
            },
        ),
        migrations.CreateModel(
            name='HistoryEntry',
            fields=[
                ('id', models.BigAutoField(primary_key=True, serialize=False)),
                ('channel', models.CharField(max_length=200)),
                ('number', models.BigIntegerField()),
                ('ms', models.BigIntegerField()),
                ('seq', models.BigIntegerField()),
                ('previous', models.CharField(max_length=42)),
                ('event', models.CharField(max_length=200)),
                ('data', models.TextField()),
                ('skip_sid', models.CharField(blank=True, max_length=100)),
            ],
            options={
                'verbose_name': 'history entry',
                'verbose_name_plural': 'history entries',
                'default_permissions': (),
                'constraints': [models.UniqueConstraint(fields=('channel', 'number'), name='socketio_views_entry_number'), models.UniqueConstraint(fields=('channel', 'ms', 'seq'), name='socketio_views_entry_offset')],
            },
        ),
    ]
