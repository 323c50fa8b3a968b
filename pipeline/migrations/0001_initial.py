from django.db import migrations


class Migration(migrations.Migration):
    """The pipeline app's starting point; its models arrive in the migrations that follow."""

    initial = True
    dependencies = [("cms", "0001_initial")]
    operations = []
