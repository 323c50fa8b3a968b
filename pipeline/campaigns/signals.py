"""Signals the campaigns app sends; upper layers receive them.

``campaign_due`` is sent inside the scheduling transaction when a campaign is scheduled; workers
queue the send on commit. Services know nothing of Celery.

``local_email_preparing`` is sent when a local (SMTP) run prepares a campaign's email, before it
is made into bytes: an app above may answer with a ``Tracking``
(pipeline/campaigns/services/tracking.py), the email with its links rewritten and how to make
each reader's token, without campaigns knowing that app (engagement counts clicks this way).

``announcement_audience`` is sent while an announcement's local recipients are chosen; each
receiver may answer a queryset of subscriber ids to leave out (the catch-up app: readers who get
that part through their catch-up queue instead of a second email).
"""

from django.dispatch import Signal

campaign_due = Signal()  # kwargs: campaign_id, send_at
local_email_preparing = Signal()  # kwargs: campaign, rendered; answers: Tracking or None
announcement_audience = Signal()  # kwargs: part_id, series_id; answers: subscriber ids to skip
# Sent when a campaign's report is assembled; upper apps that know more about what readers did
# (bounces, complaints) answer with {"title": str, "lines": [(label, value), ...]}.
campaign_report_requested = Signal()  # kwargs: campaign_id, provider
