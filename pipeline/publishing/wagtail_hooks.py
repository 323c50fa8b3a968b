"""Admin: release cadences, the release queue, the release plan and announcements (read-only).

The queue publishes parts, so it follows Wagtail's page permissions: queuing a part (forms.py),
changing its entry or taking it out of the queue needs the publish permission on the part. The
release plan (titles and dates of unreleased parts) needs a release-queue or cadence permission.
"""

from django.core.exceptions import PermissionDenied
from django.urls import path, reverse
from django.utils import timezone
from django.views.generic import TemplateView
from wagtail import hooks
from wagtail.admin.menu import MenuItem
from wagtail.admin.views.generic import WagtailAdminTemplateMixin
from wagtail.permission_policies import ModelPermissionPolicy
from wagtail.permissions import policy_registry, register_permission_policy
from wagtail.snippets.models import register_snippet
from wagtail.snippets.views.snippets import (
    DeleteView,
    EditView,
    SnippetViewSet,
    SnippetViewSetGroup,
)

from pipeline.publishing.models import Announcement, ReleaseCadence, ReleaseQueueEntry
from pipeline.publishing.services.cadence import release_plan
from pipeline.publishing.services.sweep import publishing_heartbeat


class ReadOnlyPolicy(ModelPermissionPolicy):
    """Visible to those who may view it; nobody adds, edits or deletes it by hand."""

    def user_has_permission(self, user, action):
        if action in {"add", "change", "delete"}:
            return False
        return super().user_has_permission(user, action)

    def user_has_any_permission(self, user, actions):
        return any(self.user_has_permission(user, action) for action in actions)


register_permission_policy(Announcement, ReadOnlyPolicy(Announcement))


class ReleaseQueuePolicy(ModelPermissionPolicy):
    """An entry's part is released in its queuer's name: changing or deleting the entry needs the
    publish permission on that part as well as the model's own."""

    def user_has_permission_for_instance(self, user, action, instance):
        if action in {"change", "delete"} and not (
            instance.part.permissions_for_user(user).can_publish()
        ):
            return False
        return super().user_has_permission_for_instance(user, action, instance)


register_permission_policy(ReleaseQueueEntry, ReleaseQueuePolicy(ReleaseQueueEntry))


class PartPublishersOnly:
    """For the queue's edit and delete views: the instance check, before anything is shown."""

    def dispatch(self, request, *args, **kwargs):
        if not self.user_has_permission_for_instance(self.permission_required, self.object):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)


class ReleaseQueueEditView(PartPublishersOnly, EditView):
    pass


class ReleaseQueueDeleteView(PartPublishersOnly, DeleteView):
    pass


class ReleaseCadenceViewSet(SnippetViewSet):
    model = ReleaseCadence
    icon = "date"
    menu_label = "Release cadences"
    list_display = ["series", "describe", "paused", "updated_at"]
    list_filter = ["paused"]


class ReleaseQueueViewSet(SnippetViewSet):
    model = ReleaseQueueEntry
    icon = "list-ol"
    menu_label = "Release queue"
    edit_view_class = ReleaseQueueEditView
    delete_view_class = ReleaseQueueDeleteView
    list_display = ["part", "series", "pinned_date", "planned_for", "plan_note"]


class AnnouncementViewSet(SnippetViewSet):
    model = Announcement
    icon = "mail"
    menu_label = "Announcements"
    list_display = ["part", "state", "revision", "created_at", "ready_at"]
    list_filter = ["state"]
    inspect_view_enabled = True


class ReleasesGroup(SnippetViewSetGroup):
    menu_label = "Releases"
    menu_icon = "date"
    menu_order = 250
    items = (ReleaseCadenceViewSet, ReleaseQueueViewSet, AnnouncementViewSet)


register_snippet(ReleasesGroup)


def may_see_release_plan(user) -> bool:
    actions = {"add", "change", "delete", "view"}
    return any(
        policy_registry.get_by_type(model).user_has_any_permission(user, actions)
        for model in (ReleaseQueueEntry, ReleaseCadence)
    )


class ReleasePlanView(WagtailAdminTemplateMixin, TemplateView):
    template_name = "publishing/admin/release_plan.html"
    page_title = "Release plan"
    header_icon = "date"

    def dispatch(self, request, *args, **kwargs):
        if not may_see_release_plan(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        cadences = ReleaseCadence.objects.select_related("series").order_by("series__title")
        context["plans"] = [
            {"cadence": cadence, "rows": release_plan(series_id=cadence.series_id)}
            for cadence in cadences
        ]
        context["heartbeat"] = publishing_heartbeat(now=timezone.now())
        return context


@hooks.register("register_admin_urls")
def _release_plan_urls():
    return [path("release-plan/", ReleasePlanView.as_view(), name="pipeline_release_plan")]


class ReleasePlanMenuItem(MenuItem):
    def is_shown(self, request):
        return may_see_release_plan(request.user)


@hooks.register("register_admin_menu_item")
def _release_plan_menu_item():
    return ReleasePlanMenuItem("Release plan", reverse("pipeline_release_plan"), icon_name="date",
                               order=251)

