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

# The reader's data rights (pipeline/subscribers/personal_data.py). Other apps hold data about a
# subscriber (deliveries, catch-up progress, webhook events); they contribute it without this
# app importing them:
# - ``personal_data_requested``: kwargs ``subscriber``; each receiver returns a dict of
#   {section name: JSON-able data} that goes into the subscriber's export.
# - ``personal_data_erasing``: kwargs ``subscriber``, ``email`` (the address being erased);
#   sent inside the erasure transaction, before the address is overwritten: each receiver
#   removes or anonymises what its app holds (and may record work to do after commit).
personal_data_requested = Signal()
personal_data_erasing = Signal()
import_requested = Signal()  # kwargs: import_id (a dry run or an import to run in a worker)
