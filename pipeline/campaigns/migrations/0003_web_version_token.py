"""Every campaign gets a random web version token; existing ones (sent ones included) are
backfilled with their own, so their web versions have an address from now on (their stored copies,
approved before, carry no "view in browser" link)."""

import secrets

from django.db import migrations, models

import pipeline.campaigns.models


def backfill(apps, schema_editor):
    Campaign = apps.get_model("campaigns", "Campaign")
    for pk in Campaign.objects.filter(web_token__isnull=True).values_list("pk", flat=True):
        Campaign.objects.filter(pk=pk).update(web_token=secrets.token_urlsafe(32))


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0002_part_deletion_keeps_sent_campaigns"),
    ]

    operations = [
        migrations.AddField(
            model_name="campaign",
            name="web_token",
            field=models.CharField(editable=False, max_length=64, null=True),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="campaign",
            name="web_token",
            field=models.CharField(
                default=pipeline.campaigns.models.new_web_token,
                editable=False,
                max_length=64,
                unique=True,
            ),
        ),
    ]
