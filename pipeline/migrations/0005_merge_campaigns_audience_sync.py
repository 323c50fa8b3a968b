from django.db import migrations


class Migration(migrations.Migration):
    """Joins the campaigns and audience-sync migrations to the rest of the pipeline's."""

    dependencies = [
        ("pipeline", "0003_audience_sync"),
        ("pipeline", "0003_campaigns"),
        ("pipeline", "0004_merge_importing"),
    ]
    operations = []
