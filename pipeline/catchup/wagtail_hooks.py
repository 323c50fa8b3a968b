"""Catch-up settings and welcome emails per series, as snippets in the admin; and the catch-up
campaigns sent at Mailchimp, read-only, so an operator sees one that failed or is held up."""

from wagtail.permissions import register_permission_policy
from wagtail.snippets.models import register_snippet
from wagtail.snippets.views.snippets import SnippetViewSet

from pipeline.catchup.models import CatchupCampaign, CatchupSetting, WelcomeEmail
from pipeline.subscribers.wagtail_hooks import ViewOnlyPolicy


class CatchupSettingViewSet(SnippetViewSet):
    model = CatchupSetting
    icon = "history"
    menu_label = "Catch-up"
    add_to_admin_menu = False
    list_display = ["series", "enabled", "every_days"]


class WelcomeEmailViewSet(SnippetViewSet):
    model = WelcomeEmail
    icon = "mail"
    menu_label = "Welcome emails"
    list_display = ["series", "enabled", "subject"]


class CatchupCampaignViewSet(SnippetViewSet):
    model = CatchupCampaign
    icon = "history"
    menu_label = "Catch-up campaigns"
    add_to_admin_menu = False
    list_display = ["series", "part", "day", "stage", "recipient_count", "attempts", "error",
                    "updated_at"]
    list_filter = ["stage"]
    inspect_view_enabled = True
    ordering = ["-day", "-pk"]

    def register_chooser_viewset(self):
        """Nothing chooses a catch-up campaign."""


register_snippet(CatchupSettingViewSet)
register_snippet(WelcomeEmailViewSet)
register_permission_policy(CatchupCampaign, ViewOnlyPolicy(CatchupCampaign))
register_snippet(CatchupCampaignViewSet)
