"""Signals the subscribers app sends; upper layers receive them (workers queue tasks on commit).

``confirmation_requested`` is sent inside the subscribe transaction for every consent recorded,
whether or not it owes an email (the worker's service decides), so a subscribe does the same work
for every address and its timing tells nothing. Services know nothing of Celery.

``series_confirmed`` is sent inside the confirmation transaction with the series the click
subscribed the reader to; ``preferences_changed`` inside the transaction of any change of the
series followed (added and removed ids). Upper apps react (welcome email, catch-up, Mailchimp
interests).
"""

from django.dispatch import Signal

confirmation_requested = Signal()  # kwargs: consent_id
series_confirmed = Signal()  # kwargs: subscriber_id, series_ids
preferences_changed = Signal()  # kwargs: subscriber_id, added_ids, removed_ids
# Sent by the confirmation page after a confirmation; receivers answer offers to show on it
# (dicts with text, label and a POST url), e.g. catch-up on a series' earlier parts.
confirmation_offers = Signal()  # kwargs: subscriber_id, series_ids
