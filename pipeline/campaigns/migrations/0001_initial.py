"""Adopt this app's models from the ``pipeline`` app of the days of one app.

The tables stay as they are (each model keeps its ``db_table``): the database is not touched, only
Django's picture of which app owns the models moves. Content types move with them, so permissions
(``campaigns.*``), admin log entries and anything pointing at a content type keep working.
"""

from django.conf import settings
import django.db.models.deletion
import wagtail.fields
from django.db import migrations, models

from pipeline.content_type_moves import move_content_types

MODELS = ['campaign', 'campaigntransition', 'delivery', 'seriesannouncementsetting', 'partannouncementoverride', 'campaigntestaddress']


class Migration(migrations.Migration):

    dependencies = [
        ('pipeline', '0005_merge_campaigns_audience_sync'),
        ('contenttypes', '0002_remove_content_type_name'),
        ('cms', '0001_initial'),
        ('publishing', '0001_initial'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ('subscribers', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                            name='Campaign',
                            fields=[
                                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                                ('kind', models.CharField(choices=[('announcement', 'Part announcement'), ('discount', 'Discount'), ('last_chance', 'Last-chance reminder')], default='discount', max_length=16)),
                                ('status', models.CharField(choices=[('draft', 'Draft'), ('scheduled', 'Scheduled'), ('claimed', 'Claimed by a worker'), ('created', 'Created at the provider'), ('send_requested', 'Send requested'), ('sent', 'Sent'), ('expired', 'Expired (never sent)'), ('cancelled', 'Cancelled'), ('failed', 'Failed')], default='draft', max_length=16)),
                                ('name', models.CharField(help_text='For editors; readers never see it.', max_length=200)),
                                ('reminder_before', models.DurationField(blank=True, help_text='On a discount: send a last-chance reminder this long before the offer ends.', null=True)),
                                ('audience', models.CharField(choices=[('all', 'All subscribers'), ('series', 'Followers of chosen series')], default='all', max_length=16)),
                                ('subject', models.CharField(blank=True, max_length=200)),
                                ('preheader', models.CharField(blank=True, max_length=200)),
                                ('message', wagtail.fields.RichTextField(blank=True, help_text='Optional words above the offer. Merge tags such as *|FNAME|* pass through.')),
                                ('send_at', models.DateTimeField(blank=True, null=True)),
                                ('attempts', models.PositiveIntegerField(default=0)),
                                ('claimed_by', models.CharField(blank=True, max_length=200)),
                                ('claimed_until', models.DateTimeField(blank=True, null=True)),
                                ('next_attempt_at', models.DateTimeField(blank=True, null=True)),
                                ('last_error', models.TextField(blank=True)),
                                ('provider', models.CharField(blank=True, max_length=32)),
                                ('provider_campaign_id', models.CharField(blank=True, max_length=64)),
                                ('provider_status', models.CharField(blank=True, max_length=32)),
                                ('send_requested_at', models.DateTimeField(blank=True, null=True)),
                                ('sent_at', models.DateTimeField(blank=True, null=True)),
                                ('sent_subject', models.CharField(blank=True, max_length=300)),
                                ('sent_preheader', models.CharField(blank=True, max_length=300)),
                                ('sent_html', models.TextField(blank=True)),
                                ('sent_text', models.TextField(blank=True)),
                                ('sent_audience', models.CharField(blank=True, max_length=500)),
                                ('recipient_count', models.PositiveIntegerField(blank=True, null=True)),
                                ('created_at', models.DateTimeField(auto_now_add=True)),
                                ('updated_at', models.DateTimeField(auto_now=True)),
                            ],
                            options={
                                'db_table': 'pipeline_campaign',
                                'ordering': ['-created_at'],
                                'permissions': [('send_campaign', 'Can schedule and send campaigns to the list')],
                            },
                        ),
                migrations.CreateModel(
                            name='CampaignTestAddress',
                            fields=[
                                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                                ('email', models.EmailField(max_length=254, unique=True)),
                                ('note', models.CharField(blank=True, max_length=200)),
                            ],
                            options={
                                'verbose_name': 'campaign test address',
                                'db_table': 'pipeline_campaigntestaddress',
                                'ordering': ['email'],
                            },
                        ),
                migrations.CreateModel(
                            name='CampaignTransition',
                            fields=[
                                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                                ('from_status', models.CharField(choices=[('draft', 'Draft'), ('scheduled', 'Scheduled'), ('claimed', 'Claimed by a worker'), ('created', 'Created at the provider'), ('send_requested', 'Send requested'), ('sent', 'Sent'), ('expired', 'Expired (never sent)'), ('cancelled', 'Cancelled'), ('failed', 'Failed')], max_length=16)),
                                ('to_status', models.CharField(choices=[('draft', 'Draft'), ('scheduled', 'Scheduled'), ('claimed', 'Claimed by a worker'), ('created', 'Created at the provider'), ('send_requested', 'Send requested'), ('sent', 'Sent'), ('expired', 'Expired (never sent)'), ('cancelled', 'Cancelled'), ('failed', 'Failed')], max_length=16)),
                                ('reason', models.TextField()),
                                ('actor', models.CharField(help_text='A user name, or worker@host / sweep.', max_length=200)),
                                ('at', models.DateTimeField()),
                            ],
                            options={
                                'db_table': 'pipeline_campaigntransition',
                                'ordering': ['at', 'id'],
                            },
                        ),
                migrations.CreateModel(
                            name='Delivery',
                            fields=[
                                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                                ('email', models.CharField(help_text='The address it was sent to.', max_length=254)),
                                ('state', models.CharField(choices=[('pending', 'Pending'), ('sending', 'Sending'), ('sent', 'Sent'), ('failed', 'Failed'), ('uncertain', 'Uncertain (in flight during a crash; not resent)')], default='pending', max_length=16)),
                                ('message_id', models.CharField(blank=True, max_length=250)),
                                ('error', models.TextField(blank=True)),
                                ('updated_at', models.DateTimeField(blank=True, null=True)),
                            ],
                            options={
                                'db_table': 'pipeline_delivery',
                            },
                        ),
                migrations.CreateModel(
                            name='PartAnnouncementOverride',
                            fields=[
                                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                                ('choice', models.CharField(choices=[('always', 'Announce automatically'), ('never', 'Do not announce automatically (send by hand)')], max_length=8)),
                            ],
                            options={
                                'db_table': 'pipeline_partannouncementoverride',
                            },
                        ),
                migrations.CreateModel(
                            name='SeriesAnnouncementSetting',
                            fields=[
                                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                                ('announce_automatically', models.BooleanField(default=True)),
                            ],
                            options={
                                'db_table': 'pipeline_seriesannouncementsetting',
                            },
                        ),
                migrations.AddField(
                            model_name='campaign',
                            name='announcement',
                            field=models.OneToOneField(blank=True, help_text='One campaign per announcement (the one-to-one is the unique constraint).', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='campaign', to='publishing.announcement'),
                        ),
                migrations.AddField(
                            model_name='campaign',
                            name='audience_series',
                            field=models.ManyToManyField(blank=True, related_name='campaigns', to='cms.seriespage'),
                        ),
                migrations.AddField(
                            model_name='campaign',
                            name='created_by',
                            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
                        ),
                migrations.AddField(
                            model_name='campaign',
                            name='offer',
                            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='campaigns', to='cms.offer'),
                        ),
                migrations.AddField(
                            model_name='campaign',
                            name='parent',
                            field=models.ForeignKey(blank=True, help_text='The discount campaign a last-chance reminder belongs to.', null=True, on_delete=django.db.models.deletion.CASCADE, related_name='reminders', to='campaigns.campaign'),
                        ),
                migrations.AddField(
                            model_name='campaign',
                            name='part',
                            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='campaigns', to='cms.partpage'),
                        ),
                migrations.AddField(
                            model_name='campaigntransition',
                            name='campaign',
                            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='transitions', to='campaigns.campaign'),
                        ),
                migrations.AddField(
                            model_name='delivery',
                            name='campaign',
                            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='deliveries', to='campaigns.campaign'),
                        ),
                migrations.AddField(
                            model_name='delivery',
                            name='subscriber',
                            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='deliveries', to='subscribers.subscriber'),
                        ),
                migrations.AddField(
                            model_name='partannouncementoverride',
                            name='part',
                            field=models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='announcement_override', to='cms.partpage'),
                        ),
                migrations.AddField(
                            model_name='seriesannouncementsetting',
                            name='series',
                            field=models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='announcement_setting', to='cms.seriespage'),
                        ),
                migrations.AddIndex(
                            model_name='campaign',
                            index=models.Index(fields=['status', 'send_at'], name='campaign_due_idx'),
                        ),
                migrations.AddConstraint(
                            model_name='campaign',
                            constraint=models.CheckConstraint(condition=models.Q(models.Q(('kind__in', ['discount', 'last_chance']), _negated=True), ('offer__isnull', False), _connector='OR'), name='campaign_discount_has_offer'),
                        ),
                migrations.AddConstraint(
                            model_name='campaign',
                            constraint=models.CheckConstraint(condition=models.Q(models.Q(('kind', 'last_chance'), _negated=True), ('parent__isnull', False), _connector='OR'), name='campaign_last_chance_has_parent'),
                        ),
                migrations.AddConstraint(
                            model_name='campaign',
                            constraint=models.UniqueConstraint(condition=models.Q(('kind', 'last_chance')), fields=('parent',), name='campaign_one_reminder_per_parent'),
                        ),
                migrations.AddIndex(
                            model_name='delivery',
                            index=models.Index(fields=['campaign', 'state'], name='delivery_campaign_state_idx'),
                        ),
                migrations.AddConstraint(
                            model_name='delivery',
                            constraint=models.UniqueConstraint(fields=('campaign', 'subscriber'), name='delivery_once_per_recipient'),
                        ),
            ],
        ),
        move_content_types(models=MODELS, to_app="campaigns"),
    ]
