"""Issue 15's acceptance: a local campaign to 1,000 readers over a real SMTP sink, where 30
hard-bounce, 10 soft-bounce three times (in three campaigns) and 5 complain, their bounces and
reports built from the envelopes the sink received and delivered into a real IMAP server
(Dovecot), then the beat task's poll run: the next campaign skips exactly those 45, and not the
4 readers who soft-bounced only twice (under BOUNCE_SOFT_LIMIT=3) or the 5 whose auto-replies
came back."""

import itertools

import pytest
from django.utils import timezone

from pipeline.campaigns.services.campaigns import (
    campaign_create_discount,
    campaign_report,
    campaign_schedule,
)
from pipeline.campaigns.services.delivery import CONTINUING
from pipeline.campaigns.services.sending import campaign_send
from pipeline.subscribers.models import Subscriber, SubscriberStatus
from tests.support.envelopes import EnvelopeHandler
from tests.support.factories import make_offer
from tests.support.imap_server import sample
from tests.support.smtp_sink import SmtpSink, use_smtp_server
from tests.support.subscribers import make_subscribers
from workers.tasks.deliverability import poll_bounce_mailbox

pytestmark = [pytest.mark.django_db, pytest.mark.slow]
HARD_FORMATS = ["postfix_user_unknown.eml", "gmail_address_not_found.eml",
                "outlook_recipient_not_found.eml", "qmail_permanent.eml", "exim_failed.eml",
                "yahoo_no_account.eml"]


def _send_campaign(number: int, handler: EnvelopeHandler) -> dict:
    offer = make_offer(code=f"week{number}", percent_off=20 + number)
    campaign = campaign_create_discount(offer=offer, name=f"Week {number}", send_at=None)
    assert campaign_schedule(campaign=campaign, send_at=timezone.now(), actor="editor").ok
    while campaign_send(campaign_id=campaign.pk) == CONTINUING:
        pass
    received = handler.take()
    assert len(received) == len({e.rcpt for e in received})  # nobody twice
    return campaign, {envelope.rcpt: envelope for envelope in received}


def _bounce(name: str, envelope, unique: str) -> bytes:
    # Built from what the sink received: the return path and Message-ID as they went out.
    return sample(name, recipient=envelope.rcpt, return_path=envelope.mail_from,
                  message_id=envelope.message_id, unique=unique)


def test_the_next_campaign_skips_exactly_the_bounced_and_complaining_readers(
        imap, settings, series):
    settings.CAMPAIGN_SMTP_CONNECTIONS = 4
    readers = [r.email for r in make_subscribers(1000, series=[series])]
    hard, soft, soft_twice, complainers, away = (
        readers[0:30], readers[30:40], readers[40:44], readers[44:49], readers[49:54])
    counter = itertools.count()
    handler = EnvelopeHandler()
    with SmtpSink(handler) as sink:
        use_smtp_server(settings, sink.port)
        first, received = _send_campaign(1, handler)
        assert sorted(received) == sorted(readers)
        messages = [_bounce(HARD_FORMATS[i % len(HARD_FORMATS)], received[address],
                            f"h{next(counter)}") for i, address in enumerate(hard)]
        messages += [_bounce("postfix_mailbox_full.eml", received[address], f"s{next(counter)}")
                     for address in soft + soft_twice]
        messages += [_bounce("arf_yahoo_abuse.eml", received[address], f"c{next(counter)}")
                     for address in complainers]
        messages += [_bounce(name, received[address], f"a{next(counter)}")
                     for address in away for name in ("out_of_office.eml",
                                                      "postfix_delayed.eml")]
        imap.deliver(*messages)
        assert poll_bounce_mailbox()["events"] == 30 + 14 + 5

        second, received = _send_campaign(2, handler)
        assert sorted(received) == sorted(set(readers) - set(hard) - set(complainers))
        imap.deliver(*[_bounce("postfix_mailbox_full.eml", received[address],
                               f"s{next(counter)}") for address in soft + soft_twice])
        poll_bounce_mailbox()

        third, received = _send_campaign(3, handler)
        assert sorted(received) == sorted(set(readers) - set(hard) - set(complainers))
        imap.deliver(*[_bounce("postfix_mailbox_full.eml", received[address],
                               f"s{next(counter)}") for address in soft])
        poll_bounce_mailbox()

        fourth, received = _send_campaign(4, handler)
    skipped = set(hard) | set(complainers) | set(soft)
    assert sorted(received) == sorted(set(readers) - skipped)
    assert len(received) == 1000 - 45
    assert set(soft_twice) <= set(received) and set(away) <= set(received)
    statuses = dict(Subscriber.objects.values_list("email", "status"))
    assert {statuses[a] for a in hard + soft} == {SubscriberStatus.CLEANED}
    assert {statuses[a] for a in complainers} == {SubscriberStatus.UNSUBSCRIBED}
    assert imap.count("INBOX") == 0

    def section(campaign):
        (found,) = [s for s in campaign_report(campaign=campaign)["sections"]
                    if s["title"] == "Bounces and complaints"]
        return dict(found["lines"])

    assert section(first) == {"bounced (hard)": 30, "bounced (soft)": 14, "complained": 5}
    assert section(second) == {"bounced (hard)": 0, "bounced (soft)": 14, "complained": 0}
    assert section(third) == {"bounced (hard)": 0, "bounced (soft)": 10, "complained": 0}
    assert section(fourth) == {"bounced (hard)": 0, "bounced (soft)": 0, "complained": 0}
