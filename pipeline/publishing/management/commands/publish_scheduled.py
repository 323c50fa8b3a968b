"""Wagtail's ``publish_scheduled``, replaced by the locking sweep.

The stock command has no row locks: run next to the beat-driven sweep it could publish the same
revision twice. This app comes before ``wagtail`` in INSTALLED_APPS, so this command wins.
"""

from wagtail.management.commands.publish_scheduled import Command as StockCommand

from pipeline.publishing.services.sweep import publishing_sweep


class Command(StockCommand):
    help = "Publish due revisions and unpublish expired objects (locking sweep)."

    def handle(self, *args, **options):
        if options["dryrun"]:
            return super().handle(*args, **options)
        result = publishing_sweep()
        self.stdout.write(
            f"published {len(result.published_revision_ids)}, unpublished "
            f"{len(result.unpublished)}"
        )
