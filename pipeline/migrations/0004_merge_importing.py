from django.db import migrations


class Migration(migrations.Migration):
    """Joins the importer's migration to the rest of the pipeline's."""

    dependencies = [
        ("pipeline", "0002_importing"),
        ("pipeline", "0003_merge_publishing_subscribers"),
    ]
    operations = []
