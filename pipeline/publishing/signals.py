"""Signals the publishing app sends; upper layers receive them (workers queue tasks on commit)."""

from django.dispatch import Signal

# Sent inside the publish transaction when a part's announcement intent is first recorded.
announcement_created = Signal()  # kwargs: announcement_id
