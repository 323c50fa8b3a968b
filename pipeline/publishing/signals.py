"""Signals the publishing app sends; upper layers receive them (workers queue tasks on commit)."""

from django.dispatch import Signal

# Sent inside the publish transaction when a part's announcement intent is first recorded.
announcement_created = Signal()  # kwargs: announcement_id

# Sent when a scheduled revision comes within the on-time horizon (services.arming).
revision_due_soon = Signal()  # kwargs: revision_id, go_live_at
