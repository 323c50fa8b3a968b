"""Admin: bounces and complaints, read-only, under Mailing list; and on each subscriber's
inspect page, the events about them (the subscribers app knows nothing of this one, so the
field is added here, as campaigns adds its panel to the part editor)."""

from wagtail.permissions import register_permission_policy
from wagtail.snippets.models import register_snippet
from wagtail.snippets.views.snippets import SnippetViewSet

from pipeline.deliverability.models import DeliverabilityEvent
from pipeline.subscribers.wagtail_hooks import SubscriberViewSet, ViewOnlyPolicy

EVENTS_FIELD = "deliverability_events"


class DeliverabilityEventViewSet(SnippetViewSet):
    model = DeliverabilityEvent
    icon = "warning"
    menu_label = "Bounces and complaints"
    add_to_admin_menu = True
    menu_order = 251  # beside Mailing list
    list_display = ["email", "kind", "source", "status", "occurred_at", "campaign", "outcome"]
    list_filter = ["kind", "source"]
    search_fields = ["email", "diagnostic", "outcome"]
    inspect_view_enabled = True
    ordering = ["-occurred_at"]

    def register_chooser_viewset(self):
        """Nothing chooses an event."""


register_permission_policy(DeliverabilityEvent, ViewOnlyPolicy(DeliverabilityEvent))
register_snippet(DeliverabilityEventViewSet)

if EVENTS_FIELD not in SubscriberViewSet.inspect_view_fields:
    SubscriberViewSet.inspect_view_fields = [*SubscriberViewSet.inspect_view_fields, EVENTS_FIELD]
