"""Read-only admin screens for the mailing list: who is on it and their consent trail.

Nobody edits a subscriber by hand here: every change goes through the services (consent rows,
timestamps, suppression rules). Operators can list, filter, search and inspect.
"""

from wagtail.permission_policies import ModelPermissionPolicy
from wagtail.permissions import register_permission_policy
from wagtail.snippets.models import register_snippet
from wagtail.snippets.views.snippets import SnippetViewSet, SnippetViewSetGroup

from pipeline.subscribers.models import Subscriber


class ViewOnlyPolicy(ModelPermissionPolicy):
    """Django's view permission (superusers have it) and nothing else."""

    def user_has_permission(self, user, action):
        return action == "view" and super().user_has_permission(user, action)

    def user_has_any_permission(self, user, actions):
        return any(self.user_has_permission(user, action) for action in actions)

    def user_has_permission_for_instance(self, user, action, instance):
        return self.user_has_permission(user, action)


class SubscriberViewSet(SnippetViewSet):
    model = Subscriber
    icon = "user"
    menu_label = "Subscribers"
    list_display = ["email", "status", "confirmed_at", "updated_at", "mailchimp_sync_error"]
    list_filter = ["status", "mailchimp_synced_status"]
    search_fields = ["email", "mailchimp_sync_error"]
    inspect_view_enabled = True
    inspect_view_fields = [
        "email", "status", "series", "created_at", "confirmed_at", "status_changed_at",
        "preferences_changed_at", "email_changed_at", "mailchimp_synced_status",
        "mailchimp_synced_at", "mailchimp_sync_error",
    ]


class MailingListGroup(SnippetViewSetGroup):
    items = (SubscriberViewSet,)
    menu_icon = "mail"
    menu_label = "Mailing list"
    menu_name = "mailing-list"


register_permission_policy(Subscriber, ViewOnlyPolicy(Subscriber))
register_snippet(MailingListGroup)
