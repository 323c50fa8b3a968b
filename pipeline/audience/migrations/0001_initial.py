"""Adopt this app's models from the ``pipeline`` app of the days of one app.

The tables stay as they are (each model keeps its ``db_table``): the database is not touched, only
Django's picture of which app owns the models moves. Content types move with them, so permissions
(``audience.*``), admin log entries and anything pointing at a content type keep working.
"""

import django.db.models.deletion
from django.db import migrations, models

from pipeline.content_type_moves import move_content_types

MODELS = ['audiencesyncrun', 'mailchimpseriesinterest', 'mailchimpwebhookevent']


class Migration(migrations.Migration):

    dependencies = [
        ('pipeline', '0005_merge_campaigns_audience_sync'),
        ('contenttypes', '0002_remove_content_type_name'),
        ('cms', '0001_initial'),
        ('subscribers', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                            name='AudienceSyncRun',
                            fields=[
                                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                                ('started_at', models.DateTimeField()),
                                ('heartbeat_at', models.DateTimeField()),
                                ('finished_at', models.DateTimeField(blank=True, null=True)),
                                ('state', models.CharField(choices=[('running', 'Running'), ('interrupted', 'Interrupted (resumable)'), ('finished', 'Finished')], default='running', max_length=16)),
                                ('full', models.BooleanField(default=False, help_text='Send every member, changed or not.')),
                                ('list_id', models.CharField(max_length=64)),
                                ('upper_pk', models.BigIntegerField(default=0)),
                                ('cursor_pk', models.BigIntegerField(default=0)),
                                ('pulled_since', models.DateTimeField(blank=True, help_text='Mailchimp changes read back from this time.', null=True)),
                                ('pull_done', models.BooleanField(default=False)),
                                ('members_sent', models.PositiveIntegerField(default=0)),
                                ('members_created', models.PositiveIntegerField(default=0)),
                                ('members_updated', models.PositiveIntegerField(default=0)),
                                ('errors_by_kind', models.JSONField(blank=True, default=dict)),
                                ('statuses_from_mailchimp', models.PositiveIntegerField(default=0, help_text="Our subscribers whose status was taken from Mailchimp's.")),
                                ('batches', models.PositiveIntegerField(default=0)),
                                ('requests', models.PositiveIntegerField(default=0)),
                                ('resumed', models.PositiveIntegerField(default=0, help_text='Times this run was resumed.')),
                                ('last_error', models.TextField(blank=True)),
                            ],
                            options={
                                'db_table': 'pipeline_audiencesyncrun',
                                'ordering': ['-started_at', '-id'],
                            },
                        ),
                migrations.CreateModel(
                            name='MailchimpWebhookEvent',
                            fields=[
                                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                                ('body_sha256', models.CharField(max_length=64, unique=True)),
                                ('event_type', models.CharField(max_length=32)),
                                ('fired_at', models.DateTimeField()),
                                ('received_at', models.DateTimeField(auto_now_add=True)),
                                ('email', models.CharField(blank=True, help_text='The address the event is about (for upemail: the old one), normalized.', max_length=254)),
                                ('new_email', models.CharField(blank=True, max_length=254)),
                                ('payload', models.JSONField()),
                                ('outcome', models.CharField(choices=[('applied', 'Applied'), ('stale', 'Older than the state it would change: recorded only'), ('ignored', 'Not a list change we track'), ('unmatched', 'No subscriber with that address (yet)'), ('conflict', 'The new address already belongs to another subscriber')], max_length=16)),
                            ],
                            options={
                                'db_table': 'pipeline_mailchimpwebhookevent',
                                'ordering': ['fired_at', 'id'],
                            },
                        ),
                migrations.CreateModel(
                            name='MailchimpSeriesInterest',
                            fields=[
                                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                                ('category_id', models.CharField(max_length=64)),
                                ('interest_id', models.CharField(max_length=64, unique=True)),
                                ('interest_name', models.CharField(help_text='The group name Mailchimp shows and puts in webhook INTERESTS.', max_length=200)),
                                ('series', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='mailchimp_interest', to='cms.seriespage')),
                            ],
                            options={
                                'db_table': 'pipeline_mailchimpseriesinterest',
                            },
                        ),
                migrations.AddField(
                            model_name='mailchimpwebhookevent',
                            name='subscriber',
                            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='webhook_events', to='subscribers.subscriber'),
                        ),
                migrations.AddIndex(
                            model_name='mailchimpwebhookevent',
                            index=models.Index(fields=['email', 'fired_at'], name='mc_event_email_time_idx'),
                        ),
                migrations.AddIndex(
                            model_name='mailchimpwebhookevent',
                            index=models.Index(fields=['event_type', 'outcome'], name='mc_event_type_outcome_idx'),
                        ),
            ],
        ),
        move_content_types(models=MODELS, to_app="audience"),
    ]
