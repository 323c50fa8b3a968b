"""Catch-up settings and welcome emails per series, as snippets in the admin."""

from wagtail.snippets.models import register_snippet
from wagtail.snippets.views.snippets import SnippetViewSet

from pipeline.catchup.models import CatchupSetting, WelcomeEmail


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


register_snippet(CatchupSettingViewSet)
register_snippet(WelcomeEmailViewSet)
