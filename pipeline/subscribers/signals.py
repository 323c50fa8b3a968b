"""Signals the subscribers app sends; upper layers receive them (workers queue tasks on commit).

``confirmation_requested`` is sent inside the subscribe transaction for every consent recorded,
whether or not it owes an email (the worker's service decides), so a subscribe does the same work
for every address and its timing tells nothing. Services know nothing of Celery.
"""

from django.dispatch import Signal

confirmation_requested = Signal()  # kwargs: consent_id
