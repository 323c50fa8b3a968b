"""Signals the campaigns app sends; upper layers receive them.

``campaign_due`` is sent inside the scheduling transaction when a campaign is scheduled; workers
queue the send on commit. Services know nothing of Celery.
"""

from django.dispatch import Signal

campaign_due = Signal()  # kwargs: campaign_id, send_at
# Sent when a campaign's report is assembled; upper apps that know more about what readers did
# (bounces, complaints) answer with {"title": str, "lines": [(label, value), ...]}.
campaign_report_requested = Signal()  # kwargs: campaign_id, provider
