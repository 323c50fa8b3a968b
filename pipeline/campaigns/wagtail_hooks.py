"""Wagtail admin for campaigns: the list, the discount form, the campaign page (preview, test,
schedule, cancel, log, report), announcement settings, the part editor's panel, and what
deleting a part or a series does to its campaigns.

Who may do what (a preview shows unreleased content, such as an offer's code):
- the campaign page and its previews: the campaign view or change permission;
- a test: the campaign change permission, and only to the saved test addresses
  (services/campaigns.py: campaign_send_test);
- scheduling, sending now and cancelling: the separate ``campaigns.send_campaign`` permission;
- adding, changing or deleting a test address or an announcement setting (which decide who gets
  mail without another sender's look): the model's own permission and the send permission.
"""

from datetime import UTC, datetime

from django.contrib import messages
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils import timezone
from django.views import View
from django.views.generic import TemplateView
from wagtail import hooks
from wagtail.admin.panels import Panel
from wagtail.admin.ui.tables import Column, TitleColumn
from wagtail.admin.views.generic import WagtailAdminTemplateMixin
from wagtail.permission_policies import ModelPermissionPolicy
from wagtail.permissions import register_permission_policy
from wagtail.snippets.models import register_snippet
from wagtail.snippets.views.snippets import (
    CreateView,
    EditView,
    SnippetViewSet,
    SnippetViewSetGroup,
)

from cms.models import PartPage
from pipeline.campaigns.models import (
    SEND_PERMISSION,
    Campaign,
    CampaignKind,
    CampaignStatus,
    CampaignTestAddress,
    Delivery,
    DeliveryState,
    PartAnnouncementOverride,
    SeriesAnnouncementSetting,
)
from pipeline.campaigns.services.campaigns import (
    TEST_RECIPIENTS_MAX,
    campaign_cancel,
    campaign_log,
    campaign_preflight,
    campaign_preview,
    campaign_report,
    campaign_schedule,
    campaign_send_test,
)
from pipeline.campaigns.services.parts import PartCampaigns, part_campaigns

READ_PERMISSIONS = ("campaigns.view_campaign", "campaigns.change_campaign")
WRITE_PERMISSION = "campaigns.change_campaign"


def may_read_campaigns(user) -> bool:
    return any(user.has_perm(permission) for permission in READ_PERMISSIONS)


def _manage_url(campaign) -> str:
    return reverse("pipeline_campaign_manage", args=[campaign.pk])


class CampaignCreateView(CreateView):
    def save_instance(self):
        instance = super().save_instance()
        campaign_log(campaign=instance, actor=self.request.user.get_username(),
                     reason="Created as a draft in the admin.")
        return instance

    def get_success_url(self):
        return _manage_url(self.object)


class CampaignEditView(EditView):
    def dispatch(self, request, *args, **kwargs):
        if not self.user_has_permission("change"):  # before anything of the campaign is shown
            raise PermissionDenied
        campaign = self.object
        if campaign.status != CampaignStatus.DRAFT or campaign.kind != CampaignKind.DISCOUNT:
            status = campaign.get_status_display().lower()
            messages.warning(request, f"“{campaign.name}” is {status}: only draft discount "
                             "campaigns can be edited.")
            return redirect(_manage_url(campaign))
        return super().dispatch(request, *args, **kwargs)

    def get_success_url(self):
        return _manage_url(self.object)


class CampaignViewSet(SnippetViewSet):
    model = Campaign
    icon = "mail"
    menu_label = "Campaigns"
    add_to_admin_menu = False
    add_view_class = CampaignCreateView
    edit_view_class = CampaignEditView
    list_display = [
        TitleColumn("name", label="Campaign", get_url=_manage_url),
        "kind",
        Column("status", label="Status", accessor="get_status_display"),
        "send_at",
        "offer",
        "recipient_count",
        "updated_at",
    ]
    list_filter = ["kind", "status", "provider"]
    ordering = ["-created_at"]

    def register_chooser_viewset(self):
        """No form chooses a campaign, and Wagtail's chooser lists every campaign's name to any
        admin user: it is not registered."""


class SendersOnlyPolicy(ModelPermissionPolicy):
    """Adding, changing or deleting needs the send permission as well as the model's own: these
    records decide who gets campaign mail (tests, automatic announcements)."""

    def user_has_permission(self, user, action):
        if action in {"add", "change", "delete"} and not user.has_perm(SEND_PERMISSION):
            return False
        return super().user_has_permission(user, action)

    def user_has_any_permission(self, user, actions):
        return any(self.user_has_permission(user, action) for action in actions)


for _model in (CampaignTestAddress, SeriesAnnouncementSetting, PartAnnouncementOverride):
    register_permission_policy(_model, SendersOnlyPolicy(_model))


class TestAddressViewSet(SnippetViewSet):
    model = CampaignTestAddress
    icon = "user"
    menu_label = "Test addresses"
    list_display = ["email", "note"]


class SeriesSettingViewSet(SnippetViewSet):
    model = SeriesAnnouncementSetting
    icon = "cog"
    menu_label = "Announce new parts"
    list_display = ["series", "announce_automatically"]


class PartOverrideViewSet(SnippetViewSet):
    model = PartAnnouncementOverride
    icon = "cog"
    menu_label = "Part overrides"
    list_display = ["part", "choice"]


class CampaignsGroup(SnippetViewSetGroup):
    menu_label = "Campaigns"
    menu_icon = "mail"
    menu_order = 260
    items = (CampaignViewSet, TestAddressViewSet, SeriesSettingViewSet, PartOverrideViewSet)


register_snippet(CampaignsGroup)


class CampaignReadMixin:
    """Only people with a campaign permission see a campaign (and its preview) at all."""

    def dispatch(self, request, *args, **kwargs):
        if not may_read_campaigns(request.user):
            raise PermissionDenied
        self.campaign = get_object_or_404(Campaign, pk=kwargs["pk"])
        return super().dispatch(request, *args, **kwargs)


class CampaignManageView(CampaignReadMixin, WagtailAdminTemplateMixin, TemplateView):
    template_name = "campaigns/admin/campaign_manage.html"
    header_icon = "mail"

    @property
    def page_title(self):
        return self.campaign.name

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        campaign = self.campaign
        preview = error = None
        try:
            preview = campaign_preview(campaign=campaign)
        except Exception as exc:  # a broken template must not hide the page
            error = f"The preview could not be rendered: {exc}"
        problems = []
        if campaign.status == CampaignStatus.DRAFT and preview:
            problems = campaign_preflight(campaign=campaign,
                                          send_at=campaign.send_at or timezone.now())
        context.update(
            campaign=campaign,
            preview=preview,
            preview_error=error,
            problems=problems,
            may_send=self.request.user.has_perm(SEND_PERMISSION),
            may_test=self.request.user.has_perm(WRITE_PERMISSION),
            test_max=TEST_RECIPIENTS_MAX,
            transitions=campaign.transitions.all(),
            report=campaign_report(campaign=campaign),
            # What apps above add to the report (engagement: clicks per link).
            report_extras=[extra(campaign) for extra in hooks.get_hooks("campaign_report_extras")],
            test_addresses=CampaignTestAddress.objects.all(),
            uncertain=Delivery.objects.filter(
                campaign=campaign, state=DeliveryState.UNCERTAIN
            ).order_by("pk")[:100],
            reminders=campaign.reminders.all(),
            editable=campaign.status == CampaignStatus.DRAFT
            and campaign.kind == CampaignKind.DISCOUNT,
            edit_url=reverse("wagtailsnippets_campaigns_campaign:edit", args=[campaign.pk]),
            preview_url=reverse("pipeline_campaign_preview", args=[campaign.pk]),
        )
        return context


class CampaignPreviewHtmlView(CampaignReadMixin, View):
    def get(self, request, pk):
        response = HttpResponse(campaign_preview(campaign=self.campaign).html)
        response["X-Frame-Options"] = "SAMEORIGIN"
        return response


class CampaignActionView(CampaignReadMixin, View):
    """POST only: schedule, send now, cancel, test. Each answers with one clear message."""

    def post(self, request, pk):
        campaign = self.campaign
        action = request.POST.get("action")
        actor = request.user.get_username()
        if action in ("schedule", "send_now", "cancel") and not request.user.has_perm(
            SEND_PERMISSION
        ):
            messages.error(request, "You may prepare campaigns but not send them to the list: "
                           "ask someone with the “send campaigns” permission.")
            return redirect(_manage_url(campaign))
        if action == "test" and not request.user.has_perm(WRITE_PERMISSION):
            messages.error(request, "Sending a test needs the permission to change campaigns.")
            return redirect(_manage_url(campaign))
        if action == "schedule":
            when = _parse_time(request.POST.get("send_at", ""))
            if when is None:
                messages.error(request, "Give the send time as YYYY-MM-DD HH:MM (UTC).")
                return redirect(_manage_url(campaign))
            answer = campaign_schedule(campaign=campaign, send_at=when, actor=actor)
        elif action == "send_now":
            answer = campaign_schedule(campaign=campaign, send_at=timezone.now(), actor=actor,
                                       reason="Send now, from the admin.")
        elif action == "cancel":
            answer = campaign_cancel(campaign=campaign, actor=actor)
        elif action == "test":
            emails = request.POST.getlist("test_address")
            answer = campaign_send_test(campaign=campaign, emails=emails, actor=actor)
        else:
            messages.error(request, "Unknown action.")
            return redirect(_manage_url(campaign))
        (messages.success if answer.ok else messages.error)(request, answer.message)
        return redirect(_manage_url(campaign))


def _parse_time(raw: str) -> datetime | None:
    raw = raw.strip().replace("T", " ")
    for fmt in ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"):
        try:
            return datetime.strptime(raw, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    return None


@hooks.register("register_admin_urls")
def _campaign_urls():
    return [
        path("campaigns/<int:pk>/", CampaignManageView.as_view(), name="pipeline_campaign_manage"),
        path("campaigns/<int:pk>/preview.html", CampaignPreviewHtmlView.as_view(),
             name="pipeline_campaign_preview"),
        path("campaigns/<int:pk>/action/", CampaignActionView.as_view(),
             name="pipeline_campaign_action"),
    ]


@hooks.register("register_permissions")
def _send_permission():
    return Permission.objects.filter(
        content_type__app_label="campaigns", codename="send_campaign"
    )


class AnnouncementPanel(Panel):
    """On the part editor: this part's announcement campaign, its status and a link to it."""

    class BoundPanel(Panel.BoundPanel):
        template_name = "campaigns/admin/announcement_panel.html"

        def get_context_data(self, parent_context=None):
            context = super().get_context_data(parent_context)
            part = self.instance
            campaign = (
                Campaign.objects.filter(part_id=part.pk, kind=CampaignKind.ANNOUNCEMENT).first()
                if part.pk else None
            )
            context["campaign"] = campaign
            context["manage_url"] = _manage_url(campaign) if campaign else ""
            context["override"] = (
                PartAnnouncementOverride.objects.filter(part_id=part.pk).first()
                if part.pk else None
            )
            return context

        def is_shown(self):
            return True


# Wagtail builds the part's edit handler from content_panels on first use; adding the panel here
# (hooks load before any admin request) keeps cms/ free of pipeline imports.
if not any(isinstance(p, AnnouncementPanel) for p in PartPage.content_panels):
    PartPage.content_panels = [*PartPage.content_panels, AnnouncementPanel(heading="Announcement")]



# -- deleting a part or a series: say what happens to the campaigns, refuse while one is sending --
def _campaigns_under(page) -> PartCampaigns:
    parts = PartPage.objects.descendant_of(page, inclusive=True).values_list("pk", flat=True)
    return part_campaigns(part_ids=parts)


@hooks.register("before_delete_page")
def _before_delete_page(request, page):
    found = _campaigns_under(page)
    if found.in_flight:
        text = ("Not deleted: " + ("its announcement is" if found.in_flight == 1 else
                f"{found.in_flight} of its announcements are") + " being sent right now. Wait "
                "until Campaigns shows it sent, then delete.")
        if request.method == "POST":
            messages.error(request, text)
            return redirect("wagtailadmin_explore", page.get_parent().pk)
        messages.warning(request, text)
        return None
    if request.method == "POST":
        request.partwork_deleted_campaigns = found  # said after the delete succeeded
    elif found.describe():
        messages.warning(request, "Deleting this page: " + found.describe())
    return None


@hooks.register("after_delete_page")
def _after_delete_page(request, page):
    found = getattr(request, "partwork_deleted_campaigns", None)
    if found is not None and found.describe():
        messages.success(request, found.describe())
