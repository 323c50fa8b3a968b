# Merges the two 0002 leaves (publishing, subscribers) and adds the audience sync run.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("pipeline", "0002_publishing"),
        ("pipeline", "0002_subscribers"),
    ]

    operations = [
        migrations.CreateModel(
            name="AudienceSyncRun",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("started_at", models.DateTimeField()),
                ("heartbeat_at", models.DateTimeField()),
                ("finished_at", models.DateTimeField(blank=True, null=True)),
                ("state", models.CharField(choices=[("running", "Running"), ("interrupted", "Interrupted (resumable)"), ("finished", "Finished")], default="running", max_length=16)),
                ("full", models.BooleanField(default=False, help_text="Send every member, changed or not.")),
                ("list_id", models.CharField(max_length=64)),
                ("upper_pk", models.BigIntegerField(default=0)),
                ("cursor_pk", models.BigIntegerField(default=0)),
                ("pulled_since", models.DateTimeField(blank=True, help_text="Mailchimp changes read back from this time.", null=True)),
                ("pull_done", models.BooleanField(default=False)),
                ("members_sent", models.PositiveIntegerField(default=0)),
                ("members_created", models.PositiveIntegerField(default=0)),
                ("members_updated", models.PositiveIntegerField(default=0)),
                ("errors_by_kind", models.JSONField(blank=True, default=dict)),
                ("statuses_from_mailchimp", models.PositiveIntegerField(default=0, help_text="Our subscribers whose status was taken from Mailchimp's.")),
                ("batches", models.PositiveIntegerField(default=0)),
                ("requests", models.PositiveIntegerField(default=0)),
                ("resumed", models.PositiveIntegerField(default=0, help_text="Times this run was resumed.")),
                ("last_error", models.TextField(blank=True)),
            ],
            options={"ordering": ["-started_at", "-id"]},
        ),
    ]
