from django.core.management.base import BaseCommand

from pipeline.publishing.services.sweep import publishing_sweep


class Command(BaseCommand):
    help = "Run the publishing sweep once: publish due revisions, unpublish expired pages."

    def handle(self, *args, **options):
        result = publishing_sweep()
        self.stdout.write(
            f"published {len(result.published_revision_ids)}, "
            f"unpublished {len(result.unpublished)}, "
            f"left for the next sweep {result.left_for_next_sweep}, overdue {result.overdue}"
        )
