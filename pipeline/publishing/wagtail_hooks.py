"""Admin: release cadences, the release queue, the release plan and announcements (read-only)."""

from django.urls import path, reverse
from django.utils import timezone
from django.views.generic import TemplateView
from wagtail import hooks
from wagtail.admin.menu import MenuItem
from wagtail.admin.views.generic import WagtailAdminTemplateMixin
from wagtail.permission_policies import ModelPermissionPolicy
from wagtail.permissions import register_permission_policy
from wagtail.snippets.models import register_snippet
from wagtail.snippets.views.snippets import SnippetViewSet, SnippetViewSetGroup

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


class ReleasePlanView(WagtailAdminTemplateMixin, TemplateView):
    template_name = "publishing/admin/release_plan.html"
    page_title = "Release plan"
    header_icon = "date"

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


@hooks.register("register_admin_menu_item")
def _release_plan_menu_item():
    return MenuItem("Release plan", reverse("pipeline_release_plan"), icon_name="date", order=251)

