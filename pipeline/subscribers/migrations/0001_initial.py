"""Adopt this app's models from the ``pipeline`` app of the days of one app.

The tables stay as they are (each model keeps its ``db_table``): the database is not touched, only
Django's picture of which app owns the models moves. Content types move with them, so permissions
(``subscribers.*``), admin log entries and anything pointing at a content type keep working.
"""

import django.db.models.deletion
import django.db.models.functions.text
from django.db import migrations, models

from pipeline.content_type_moves import move_content_types

MODELS = ['subscriber', 'consentrecord']


class Migration(migrations.Migration):

    dependencies = [
        ('pipeline', '0005_merge_campaigns_audience_sync'),
        ('contenttypes', '0002_remove_content_type_name'),
        ('cms', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                            name='Subscriber',
                            fields=[
                                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                                ('email', models.CharField(help_text='Normalized: trimmed, lower-case, IDNA-encoded domain (pipeline.subscribers.email_address.normalize_email).', max_length=254, unique=True)),
                                ('status', models.CharField(choices=[('pending', 'Pending confirmation'), ('subscribed', 'Subscribed'), ('unsubscribed', 'Unsubscribed'), ('cleaned', 'Cleaned (address bounced)')], default='pending', max_length=16)),
                                ('created_at', models.DateTimeField(auto_now_add=True)),
                                ('updated_at', models.DateTimeField(auto_now=True)),
                                ('confirmed_at', models.DateTimeField(blank=True, null=True)),
                                ('status_changed_at', models.DateTimeField(blank=True, null=True)),
                                ('preferences_changed_at', models.DateTimeField(blank=True, null=True)),
                                ('email_changed_at', models.DateTimeField(blank=True, null=True)),
                                ('mailchimp_synced_status', models.CharField(blank=True, max_length=16)),
                                ('mailchimp_synced_hash', models.CharField(blank=True, max_length=64)),
                                ('mailchimp_synced_at', models.DateTimeField(blank=True, null=True)),
                                ('mailchimp_sync_error', models.TextField(blank=True)),
                                ('series', models.ManyToManyField(blank=True, related_name='list_subscribers', to='cms.seriespage')),
                            ],
                            options={
                                'db_table': 'pipeline_subscriber',
                            },
                        ),
                migrations.CreateModel(
                            name='ConsentRecord',
                            fields=[
                                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                                ('kind', models.CharField(choices=[('given', 'Consent given (awaiting confirmation)'), ('confirmed', 'Consent confirmed (double opt-in)'), ('withdrawn', 'Consent withdrawn')], max_length=16)),
                                ('source', models.CharField(choices=[('api', 'Public API form'), ('mailchimp', 'Mailchimp (webhook)'), ('admin', 'Operator'), ('import', 'Import')], max_length=16)),
                                ('recorded_at', models.DateTimeField()),
                                ('form_id', models.CharField(blank=True, max_length=200)),
                                ('consent_text', models.TextField(blank=True, help_text='The exact wording the person agreed to.')),
                                ('ip_address', models.GenericIPAddressField(blank=True, null=True)),
                                ('user_agent', models.CharField(blank=True, max_length=500)),
                                ('requested_series', models.JSONField(blank=True, default=list, help_text='Series slugs asked for with this consent.')),
                                ('confirmation_sent_at', models.DateTimeField(blank=True, null=True)),
                                ('note', models.CharField(blank=True, max_length=500)),
                                ('answers', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='answered_by', to='subscribers.consentrecord')),
                                ('subscriber', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='consents', to='subscribers.subscriber')),
                            ],
                            options={
                                'db_table': 'pipeline_consentrecord',
                                'ordering': ['recorded_at', 'id'],
                            },
                        ),
                migrations.AddIndex(
                            model_name='subscriber',
                            index=models.Index(fields=['status'], name='subscriber_status_idx'),
                        ),
                migrations.AddConstraint(
                            model_name='subscriber',
                            constraint=models.UniqueConstraint(django.db.models.functions.text.Lower('email'), name='subscriber_email_ci_unique'),
                        ),
                migrations.AddIndex(
                            model_name='consentrecord',
                            index=models.Index(fields=['subscriber', 'recorded_at'], name='consent_sub_time_idx'),
                        ),
            ],
        ),
        move_content_types(models=MODELS, to_app="subscribers"),
    ]
