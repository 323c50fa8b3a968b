from django.db import migrations


class Migration(migrations.Migration):
    """Joins the publishing and mailing-list branches of the pipeline's migrations."""

    dependencies = [("pipeline", "0002_publishing"), ("pipeline", "0002_subscribers")]
    operations = []
