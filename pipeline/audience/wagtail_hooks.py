"""Read-only admin screens for the Mailchimp audience: list webhooks received and sync runs."""

from wagtail.permissions import register_permission_policy
from wagtail.snippets.models import register_snippet
from wagtail.snippets.views.snippets import SnippetViewSet, SnippetViewSetGroup

from pipeline.audience.models import AudienceSyncRun, MailchimpWebhookEvent
from pipeline.subscribers.wagtail_hooks import ViewOnlyPolicy


class WebhookEventViewSet(SnippetViewSet):
    model = MailchimpWebhookEvent
    icon = "resubmit"
    menu_label = "Mailchimp webhooks"
    list_display = ["event_type", "email", "fired_at", "received_at", "outcome"]
    list_filter = ["event_type", "outcome"]
    search_fields = ["email", "new_email"]
    inspect_view_enabled = True


class AudienceSyncRunViewSet(SnippetViewSet):
    model = AudienceSyncRun
    icon = "resubmit"
    menu_label = "Audience syncs"
    list_display = ["started_at", "state", "members_sent", "batches", "requests",
                    "errors_by_kind", "finished_at"]
    list_filter = ["state"]
    inspect_view_enabled = True


class MailchimpAudienceGroup(SnippetViewSetGroup):
    items = (WebhookEventViewSet, AudienceSyncRunViewSet)
    menu_icon = "resubmit"
    menu_label = "Mailchimp audience"
    menu_name = "mailchimp-audience"


for _model in (MailchimpWebhookEvent, AudienceSyncRun):
    register_permission_policy(_model, ViewOnlyPolicy(_model))
register_snippet(MailchimpAudienceGroup)
