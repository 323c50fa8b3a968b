"""Adopt this app's models from the ``pipeline`` app of the days of one app.

The tables stay as they are (each model keeps its ``db_table``): the database is not touched, only
Django's picture of which app owns the models moves. Content types move with them, so permissions
(``publishing.*``), admin log entries and anything pointing at a content type keep working.
"""

import django.core.validators
import django.db.models.deletion
import modelcluster.fields
from django.db import migrations, models

from pipeline.content_type_moves import move_content_types

MODELS = ['announcement', 'sweepheartbeat', 'releasecadence', 'skippedreleasedate', 'releasequeueentry']


class Migration(migrations.Migration):

    dependencies = [
        ('pipeline', '0005_merge_campaigns_audience_sync'),
        ('contenttypes', '0002_remove_content_type_name'),
        ('cms', '0001_initial'),
        ('wagtailcore', '0098_apitoken'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                            name='SweepHeartbeat',
                            fields=[
                                ('name', models.CharField(max_length=40, primary_key=True, serialize=False)),
                                ('last_started_at', models.DateTimeField(null=True)),
                                ('last_success_at', models.DateTimeField(null=True)),
                                ('last_duration_ms', models.PositiveIntegerField(default=0)),
                                ('last_published', models.PositiveIntegerField(default=0)),
                                ('last_unpublished', models.PositiveIntegerField(default=0)),
                                ('last_overdue', models.PositiveIntegerField(default=0)),
                                ('last_max_lateness_seconds', models.FloatField(default=0)),
                                ('total_published', models.PositiveBigIntegerField(default=0)),
                                ('total_unpublished', models.PositiveBigIntegerField(default=0)),
                                ('total_sweeps', models.PositiveBigIntegerField(default=0)),
                            ],
                            options={
                                'db_table': 'pipeline_sweepheartbeat',
                            },
                        ),
                migrations.CreateModel(
                            name='ReleaseCadence',
                            fields=[
                                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                                ('kind', models.CharField(choices=[('weekly', 'Weekly, on the chosen days'), ('every_n_days', 'Every N days')], default='weekly', max_length=20)),
                                ('monday', models.BooleanField(default=False)),
                                ('tuesday', models.BooleanField(default=False)),
                                ('wednesday', models.BooleanField(default=False)),
                                ('thursday', models.BooleanField(default=False)),
                                ('friday', models.BooleanField(default=False)),
                                ('saturday', models.BooleanField(default=False)),
                                ('sunday', models.BooleanField(default=False)),
                                ('every_n_days', models.PositiveSmallIntegerField(blank=True, help_text="For 'every N days': the number of days between releases.", null=True, validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(365)])),
                                ('starting_on', models.DateField(blank=True, help_text="For 'every N days': the first release date.", null=True)),
                                ('release_time', models.TimeField(help_text="Local time in the series' time zone.")),
                                ('paused', models.BooleanField(default=False, help_text='While paused, queued parts are not scheduled.')),
                                ('updated_at', models.DateTimeField(auto_now=True)),
                                ('series', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='release_cadence', to='cms.seriespage')),
                            ],
                            options={
                                'verbose_name': 'release cadence',
                                'db_table': 'pipeline_releasecadence',
                            },
                        ),
                migrations.CreateModel(
                            name='ReleaseQueueEntry',
                            fields=[
                                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                                ('pinned_date', models.DateField(blank=True, help_text="Release on this local date at the cadence's time instead of the next free slot.", null=True)),
                                ('planned_for', models.DateTimeField(blank=True, editable=False, null=True)),
                                ('plan_note', models.CharField(blank=True, editable=False, max_length=300)),
                                ('created_at', models.DateTimeField(auto_now_add=True)),
                                ('part', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='release_entry', to='cms.partpage')),
                                ('series', models.ForeignKey(editable=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='cms.seriespage')),
                            ],
                            options={
                                'verbose_name': 'part ready for release',
                                'verbose_name_plural': 'release queue',
                                'db_table': 'pipeline_releasequeueentry',
                            },
                        ),
                migrations.CreateModel(
                            name='SkippedReleaseDate',
                            fields=[
                                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                                ('date', models.DateField(help_text='No part is released on this local date.')),
                                ('cadence', modelcluster.fields.ParentalKey(on_delete=django.db.models.deletion.CASCADE, related_name='skipped_dates', to='publishing.releasecadence')),
                            ],
                            options={
                                'db_table': 'pipeline_skippedreleasedate',
                                'ordering': ['date'],
                            },
                        ),
                migrations.CreateModel(
                            name='Announcement',
                            fields=[
                                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                                ('state', models.CharField(choices=[('pending', 'Pending (publish committed, hand-over not yet queued)'), ('ready', 'Ready for the announcement campaign')], default='pending', max_length=20)),
                                ('created_at', models.DateTimeField(auto_now_add=True)),
                                ('ready_at', models.DateTimeField(blank=True, null=True)),
                                ('part', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='announcement', to='cms.partpage')),
                                ('revision', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='wagtailcore.revision')),
                            ],
                            options={
                                'db_table': 'pipeline_announcement',
                                'ordering': ['-created_at'],
                                'indexes': [models.Index(fields=['state', 'created_at'], name='pipeline_an_state_4c199c_idx')],
                            },
                        ),
                migrations.AddConstraint(
                            model_name='releasecadence',
                            constraint=models.CheckConstraint(condition=models.Q(('every_n_days__isnull', True), ('every_n_days__gte', 1), _connector='OR'), name='cadence_every_n_days_positive'),
                        ),
                migrations.AddConstraint(
                            model_name='releasequeueentry',
                            constraint=models.UniqueConstraint(fields=('series', 'pinned_date'), name='one_pinned_part_per_date'),
                        ),
                migrations.AddConstraint(
                            model_name='skippedreleasedate',
                            constraint=models.UniqueConstraint(fields=('cadence', 'date'), name='unique_skipped_date'),
                        ),
            ],
        ),
        move_content_types(models=MODELS, to_app="publishing"),
    ]
