"""Admin screens for the mailing list: who is on it and their consent trail (read-only), the
list coming in (CSV import) and going out (CSV export), and one reader's data rights (their data
as JSON, erasure).

Nobody edits a subscriber by hand here: every change goes through the services (consent rows,
timestamps, suppression rules). Each screen that brings data in or takes it out needs its own
permission, beyond seeing the list (superusers have them all):
- ``subscribers.import_subscribers``: the CSV import;
- ``subscribers.export_subscribers``: the CSV export of the listing and a subscriber's JSON;
- ``subscribers.erase_subscriber``: erasure (after a confirmation page, by POST).
"""

import json

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseBadRequest, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils.functional import cached_property
from django.views import View
from django.views.generic import TemplateView
from wagtail import hooks
from wagtail.admin.ui.menus import MenuItem
from wagtail.admin.views.generic import WagtailAdminTemplateMixin
from wagtail.admin.widgets.button import Button
from wagtail.permission_policies import ModelPermissionPolicy
from wagtail.permissions import register_permission_policy
from wagtail.snippets.models import register_snippet
from wagtail.snippets.views.snippets import IndexView, SnippetViewSet, SnippetViewSetGroup

from pipeline.subscribers.csv_io import (
    FIELD_LABELS,
    FIELDS,
    CsvImportError,
    auto_mapping,
    errors_csv,
    export_lines,
)
from pipeline.subscribers.imports import subscriber_import_start, subscriber_import_upload
from pipeline.subscribers.models import ImportState, Subscriber, SubscriberImport
from pipeline.subscribers.personal_data import subscriber_data, subscriber_erase

IMPORT_PERMISSION = "subscribers.import_subscribers"
EXPORT_PERMISSION = "subscribers.export_subscribers"
ERASE_PERMISSION = "subscribers.erase_subscriber"


class ViewOnlyPolicy(ModelPermissionPolicy):
    """Django's view permission (superusers have it) and nothing else."""

    def user_has_permission(self, user, action):
        return action == "view" and super().user_has_permission(user, action)

    def user_has_any_permission(self, user, actions):
        return any(self.user_has_permission(user, action) for action in actions)

    def user_has_permission_for_instance(self, user, action, instance):
        return self.user_has_permission(user, action)


class SubscriberIndexView(IndexView):
    """The listing; its CSV export streams what the current filters and search show, for those
    with the export permission only, with formula injection escaped (csv_io.export_lines)."""

    def render_to_response(self, context, **response_kwargs):
        if self.is_export:
            if not self.request.user.has_perm(EXPORT_PERMISSION):
                raise PermissionDenied
            if self.request.GET.get("export") != self.FORMAT_CSV:
                return HttpResponseBadRequest("Only CSV exports are offered.")
            response = StreamingHttpResponse(export_lines(context["object_list"]),
                                             content_type="text/csv; charset=utf-8")
            response["Content-Disposition"] = 'attachment; filename="subscribers.csv"'
            return response
        return super().render_to_response(context, **response_kwargs)

    @cached_property
    def show_export_buttons(self):
        return False  # ours below: CSV only, and only with the permission

    @cached_property
    def header_more_buttons(self):
        buttons = super().header_more_buttons.copy()
        user = self.request.user
        if user.has_perm(EXPORT_PERMISSION):
            buttons.append(Button("Download CSV", url=self.csv_export_url,
                                  icon_name="download", priority=100))
        if user.has_perm(IMPORT_PERMISSION):
            buttons.append(Button("Import CSV", url=reverse("subscribers_import"),
                                  icon_name="upload", priority=110))
        return buttons


class SubscriberViewSet(SnippetViewSet):
    model = Subscriber
    icon = "user"
    menu_label = "Subscribers"
    index_view_class = SubscriberIndexView
    list_display = ["email", "status", "confirmed_at", "updated_at", "mailchimp_sync_error"]
    list_export = ["email"]  # the export itself is csv_io.export_lines
    list_filter = ["status", "mailchimp_synced_status"]
    search_fields = ["email", "mailchimp_sync_error"]
    inspect_view_enabled = True
    inspect_view_fields = [
        "email", "name", "status", "series", "created_at", "confirmed_at", "status_changed_at",
        "preferences_changed_at", "email_changed_at", "erased_at", "mailchimp_synced_status",
        "mailchimp_synced_at", "mailchimp_sync_error",
    ]


class ImportViewSet(SnippetViewSet):
    model = SubscriberImport
    icon = "upload"
    menu_label = "Imports"
    list_display = ["original_name", "state", "rows_done", "error_count", "created_at"]
    list_filter = ["state"]


class MailingListGroup(SnippetViewSetGroup):
    items = (SubscriberViewSet, ImportViewSet)
    menu_icon = "mail"
    menu_label = "Mailing list"
    menu_name = "mailing-list"


register_permission_policy(Subscriber, ViewOnlyPolicy(Subscriber))
register_permission_policy(SubscriberImport, ViewOnlyPolicy(SubscriberImport))
register_snippet(MailingListGroup)


@hooks.register("register_snippet_listing_buttons")
def _subscriber_buttons(snippet, user, next_url=None):
    if not isinstance(snippet, Subscriber) or snippet.erased_at:
        return
    if user.has_perm(EXPORT_PERMISSION):
        yield MenuItem("Data (JSON)", reverse("subscribers_data", args=[snippet.pk]),
                                   icon_name="download", priority=50)
    if user.has_perm(ERASE_PERMISSION):
        yield MenuItem("Erase…", reverse("subscribers_erase", args=[snippet.pk]),
                                   icon_name="bin", priority=60)


class _Needs:
    """The view's own permission, and breadcrumbs back to the subscriber list."""

    permission = ""

    def get_breadcrumbs_items(self):
        return [{"url": reverse("wagtailadmin_home"), "label": "Home"},
                {"url": reverse("wagtailsnippets_subscribers_subscriber:list"),
                 "label": "Subscribers"},
                {"url": "", "label": self.get_page_title()}]

    def dispatch(self, request, *args, **kwargs):
        if not request.user.has_perm(self.permission):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)


class ImportUploadView(_Needs, WagtailAdminTemplateMixin, TemplateView):
    permission = IMPORT_PERMISSION
    template_name = "subscribers/admin/import_upload.html"
    page_title = "Import subscribers"
    header_icon = "upload"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(max_bytes=settings.SUBSCRIBER_IMPORT_MAX_BYTES, fields=FIELD_LABELS,
                       recent=SubscriberImport.objects.all()[:10])
        return context

    def post(self, request):
        upload = request.FILES.get("file")
        if upload is None:
            messages.error(request, "Choose a CSV file to upload.")
            return redirect("subscribers_import")
        try:
            job = subscriber_import_upload(upload=upload, user=request.user,
                                           max_bytes=settings.SUBSCRIBER_IMPORT_MAX_BYTES)
        except CsvImportError as error:
            messages.error(request, str(error))
            return redirect("subscribers_import")
        return redirect("subscribers_import_detail", job.pk)


class ImportDetailView(_Needs, WagtailAdminTemplateMixin, TemplateView):
    """The mapping form, the dry run's outcome, and the progress of either: the page refreshes
    itself while a worker runs (a meta refresh; with JavaScript the bar moves without reloads)."""

    permission = IMPORT_PERMISSION
    template_name = "subscribers/admin/import_detail.html"
    header_icon = "upload"

    @property
    def page_title(self):
        return f"Import: {self.job.original_name}"

    def dispatch(self, request, *args, **kwargs):
        self.job = get_object_or_404(SubscriberImport, pk=kwargs["pk"])
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        job = self.job
        mapping = job.mapping or auto_mapping(job.headers)
        running = job.state in (ImportState.CHECKING, ImportState.QUEUED, ImportState.RUNNING)
        context.update(
            job=job, running=running, headers=job.headers,
            fields=[(name, FIELD_LABELS[name], mapping.get(name, "")) for name in FIELDS],
            may_map=job.state in (ImportState.UPLOADED, ImportState.CHECKED,
                                  ImportState.FAILED) and not job.rows_done,
            may_import=job.state == ImportState.CHECKED,
            counts=sorted(job.counts.items()), dry_run=sorted(job.dry_run.items()),
            errors=job.errors[:50],
            progress_url=reverse("subscribers_import_progress", args=[job.pk]),
            errors_url=reverse("subscribers_import_errors", args=[job.pk]),
        )
        return context

    def post(self, request, pk):
        mapping = {name: request.POST.get(f"map_{name}", "").strip() for name in FIELDS}
        dry_run = request.POST.get("action") != "import"
        try:
            subscriber_import_start(import_id=self.job.pk, mapping=mapping,
                                    send_confirmation=request.POST.get("send_confirmation") == "on",
                                    dry_run=dry_run)
        except CsvImportError as error:
            messages.error(request, str(error))
        return redirect("subscribers_import_detail", self.job.pk)


class ImportProgressView(_Needs, View):
    permission = IMPORT_PERMISSION

    def get(self, request, pk):
        job = get_object_or_404(SubscriberImport, pk=pk)
        return JsonResponse({"state": job.state, "percent": job.percent,
                             "rows_done": job.rows_done, "rows_total": job.rows_total,
                             "errors": job.error_count, "counts": job.counts})


class ImportErrorsView(_Needs, View):
    permission = IMPORT_PERMISSION

    def get(self, request, pk):
        job = get_object_or_404(SubscriberImport, pk=pk)
        response = StreamingHttpResponse(errors_csv(job.errors),
                                         content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-errors.csv"'
        return response


class SubscriberDataView(_Needs, View):
    permission = EXPORT_PERMISSION

    def get(self, request, pk):
        subscriber = get_object_or_404(Subscriber, pk=pk)
        body = json.dumps(subscriber_data(subscriber), indent=2)
        response = HttpResponse(body, content_type="application/json")
        response["Content-Disposition"] = f'attachment; filename="subscriber-{pk}.json"'
        response["Cache-Control"] = "no-store"
        return response


class SubscriberEraseView(_Needs, WagtailAdminTemplateMixin, TemplateView):
    permission = ERASE_PERMISSION
    template_name = "subscribers/admin/erase_confirm.html"
    header_icon = "bin"
    page_title = "Erase a subscriber's data"

    def dispatch(self, request, *args, **kwargs):
        self.subscriber = get_object_or_404(Subscriber, pk=kwargs["pk"])
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["subscriber"] = self.subscriber
        return context

    def post(self, request, pk):
        if request.POST.get("confirm") != self.subscriber.email:
            messages.error(request, "Type the address exactly to confirm the erasure.")
            return redirect("subscribers_erase", pk)
        subscriber_erase(subscriber_id=pk, actor=request.user.get_username(),
                         note=request.POST.get("note", "")[:200])
        messages.success(request, f"Subscriber {pk} erased. Mailchimp's copy is deleted "
                         "permanently in the background.")
        return redirect("wagtailsnippets_subscribers_subscriber:list")


@hooks.register("register_admin_urls")
def _urls():
    return [
        path("subscribers/import/", ImportUploadView.as_view(), name="subscribers_import"),
        path("subscribers/import/<int:pk>/", ImportDetailView.as_view(),
             name="subscribers_import_detail"),
        path("subscribers/import/<int:pk>/progress/", ImportProgressView.as_view(),
             name="subscribers_import_progress"),
        path("subscribers/import/<int:pk>/errors.csv", ImportErrorsView.as_view(),
             name="subscribers_import_errors"),
        path("subscribers/<int:pk>/data/", SubscriberDataView.as_view(),
             name="subscribers_data"),
        path("subscribers/<int:pk>/erase/", SubscriberEraseView.as_view(),
             name="subscribers_erase"),
    ]
