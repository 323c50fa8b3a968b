"""The admin form for the release queue: queuing a part approves its release."""

from django.core.exceptions import ValidationError
from wagtail.admin.forms import WagtailAdminModelForm


class ReleaseQueueEntryForm(WagtailAdminModelForm):
    """Queuing (or re-queuing) a part needs the publish permission on it, as publishing it in the
    page editor would; the entry then records who queued it and the revision they approved."""

    def clean_part(self):
        part = self.cleaned_data.get("part")
        if part is not None and not (
            self.for_user and part.permissions_for_user(self.for_user).can_publish()
        ):
            raise ValidationError(
                f"You may not publish part {part.part_number} “{part.title}”, so you cannot queue "
                "it for release: ask someone who may publish it."
            )
        return part

    def save(self, commit=True):
        entry = self.instance
        entry.queued_by = self.for_user
        part = entry.part
        # The content approved: the part as it stands (a page made by code may have no revision).
        entry.revision = part.get_latest_revision() or part.save_revision(
            user=self.for_user, clean=False, log_action=False)
        entry.planned_for = None  # a new approval: the planner schedules the approved revision
        return super().save(commit=commit)
