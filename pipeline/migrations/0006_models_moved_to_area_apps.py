"""The models of the days of one app moved to the area apps (subscribers, audience, publishing,
campaigns, importing), which adopted them with their tables in their own 0001. Here they leave
this app's state only: no table is dropped or altered.
"""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('pipeline', '0005_merge_campaigns_audience_sync'),
        ('subscribers', '0001_initial'),
        ('audience', '0001_initial'),
        ('publishing', '0001_initial'),
        ('campaigns', '0001_initial'),
        ('importing', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.RemoveField(
                            model_name='announcement',
                            name='part',
                        ),
                migrations.RemoveField(
                            model_name='announcement',
                            name='revision',
                        ),
                migrations.RemoveField(
                            model_name='campaign',
                            name='announcement',
                        ),
                migrations.DeleteModel(
                            name='AudienceSyncRun',
                        ),
                migrations.RemoveField(
                            model_name='campaign',
                            name='audience_series',
                        ),
                migrations.RemoveField(
                            model_name='campaign',
                            name='created_by',
                        ),
                migrations.RemoveField(
                            model_name='campaign',
                            name='offer',
                        ),
                migrations.RemoveField(
                            model_name='campaign',
                            name='parent',
                        ),
                migrations.RemoveField(
                            model_name='campaign',
                            name='part',
                        ),
                migrations.RemoveField(
                            model_name='delivery',
                            name='campaign',
                        ),
                migrations.RemoveField(
                            model_name='campaigntransition',
                            name='campaign',
                        ),
                migrations.DeleteModel(
                            name='CampaignTestAddress',
                        ),
                migrations.RemoveField(
                            model_name='consentrecord',
                            name='answers',
                        ),
                migrations.RemoveField(
                            model_name='consentrecord',
                            name='subscriber',
                        ),
                migrations.RemoveField(
                            model_name='delivery',
                            name='subscriber',
                        ),
                migrations.RemoveField(
                            model_name='importedarticle',
                            name='offer',
                        ),
                migrations.RemoveField(
                            model_name='importedarticle',
                            name='part',
                        ),
                migrations.RemoveField(
                            model_name='importedarticle',
                            name='series',
                        ),
                migrations.RemoveField(
                            model_name='mailchimpseriesinterest',
                            name='series',
                        ),
                migrations.RemoveField(
                            model_name='mailchimpwebhookevent',
                            name='subscriber',
                        ),
                migrations.RemoveField(
                            model_name='partannouncementoverride',
                            name='part',
                        ),
                migrations.RemoveField(
                            model_name='releasecadence',
                            name='series',
                        ),
                migrations.RemoveField(
                            model_name='skippedreleasedate',
                            name='cadence',
                        ),
                migrations.RemoveField(
                            model_name='releasequeueentry',
                            name='part',
                        ),
                migrations.RemoveField(
                            model_name='releasequeueentry',
                            name='series',
                        ),
                migrations.RemoveField(
                            model_name='seriesannouncementsetting',
                            name='series',
                        ),
                migrations.RemoveField(
                            model_name='subscriber',
                            name='series',
                        ),
                migrations.DeleteModel(
                            name='SweepHeartbeat',
                        ),
                migrations.DeleteModel(
                            name='Announcement',
                        ),
                migrations.DeleteModel(
                            name='Campaign',
                        ),
                migrations.DeleteModel(
                            name='CampaignTransition',
                        ),
                migrations.DeleteModel(
                            name='ConsentRecord',
                        ),
                migrations.DeleteModel(
                            name='Delivery',
                        ),
                migrations.DeleteModel(
                            name='ImportedArticle',
                        ),
                migrations.DeleteModel(
                            name='MailchimpSeriesInterest',
                        ),
                migrations.DeleteModel(
                            name='MailchimpWebhookEvent',
                        ),
                migrations.DeleteModel(
                            name='PartAnnouncementOverride',
                        ),
                migrations.DeleteModel(
                            name='ReleaseCadence',
                        ),
                migrations.DeleteModel(
                            name='SkippedReleaseDate',
                        ),
                migrations.DeleteModel(
                            name='ReleaseQueueEntry',
                        ),
                migrations.DeleteModel(
                            name='SeriesAnnouncementSetting',
                        ),
                migrations.DeleteModel(
                            name='Subscriber',
                        ),
            ],
        ),
    ]
