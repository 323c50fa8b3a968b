"""A poll killed with SIGKILL in the middle of a full mailbox (a real `manage.py poll_bounces`
process against a real Dovecot): the next poll finishes the job and nothing is recorded twice."""

import sys
import tempfile
from pathlib import Path

import pytest

from pipeline.deliverability.models import DeliverabilityEvent, MailboxMessage
from pipeline.deliverability.services.mailbox import bounce_mailbox_poll
from pipeline.subscribers.models import Subscriber, SubscriberStatus
from tests.support.bounces import BOUNCE_DOMAIN, bounce_for, delivered
from tests.support.processes import Process, child_env, wait_until
from tests.support.subscribers import make_subscribers

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
COUNT = 300


def test_a_poll_killed_midway_loses_and_repeats_nothing(imap, sent_campaign):
    readers = make_subscribers(COUNT)
    deliveries = [delivered(sent_campaign, reader) for reader in readers]
    imap.deliver(*[bounce_for("postfix_user_unknown.eml", d) for d in deliveries])
    env = child_env(
        BOUNCE_DOMAIN=BOUNCE_DOMAIN, BOUNCE_IMAP_HOST=imap.host,
        BOUNCE_IMAP_PORT=str(imap.plain_port), BOUNCE_IMAP_SECURITY="plain",
        BOUNCE_IMAP_USER=imap.user, BOUNCE_IMAP_PASSWORD=imap.password)
    with tempfile.TemporaryDirectory() as logs:
        child = Process("poll", [sys.executable, "manage.py", "poll_bounces"], Path(logs), env)
        try:
            wait_until(lambda: MailboxMessage.objects.count() >= 20, timeout=120,
                       what="the child poll to record some messages")
        finally:
            child.kill()  # SIGKILL, mid-poll
        recorded_by_child = MailboxMessage.objects.count()
        assert recorded_by_child < COUNT, child.log()
    assert imap.count("INBOX") > 0

    while bounce_mailbox_poll().read:
        pass

    assert imap.count("INBOX") == 0 and imap.count("Processed") == COUNT
    assert MailboxMessage.objects.count() == COUNT
    assert DeliverabilityEvent.objects.count() == COUNT
    assert sorted(DeliverabilityEvent.objects.values_list("delivery_id", flat=True)) == sorted(
        d.pk for d in deliveries)
    assert set(Subscriber.objects.values_list("status", flat=True)) == {SubscriberStatus.CLEANED}
