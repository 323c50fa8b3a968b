"""The bounce mailbox: committed real-world-shaped samples delivered into a real IMAP server
(Dovecot), the poll run, events recorded against their deliveries, messages moved or deleted."""

import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from config.health import check_bounce_mailbox
from pipeline.deliverability.models import DeliverabilityEvent, EventKind, MailboxMessage
from pipeline.deliverability.services import mailbox
from pipeline.deliverability.services.mailbox import (
    MailboxError,
    bounce_mailbox_handle,
    bounce_mailbox_poll,
)
from pipeline.subscribers.models import ConsentKind, ConsentSource, SubscriberStatus
from tests.support.bounces import bounce_for, delivered
from tests.support.subscribers import make_subscribers
from workers.celery_app import app as celery_app
from workers.tasks.deliverability import poll_bounce_mailbox

pytestmark = pytest.mark.django_db
K = EventKind

# Each committed sample and what it must be read as (None: no event at all).
SAMPLES = {
    "postfix_user_unknown.eml": (K.HARD_BOUNCE, "5.1.1"),
    "gmail_address_not_found.eml": (K.HARD_BOUNCE, "5.1.1"),
    "outlook_recipient_not_found.eml": (K.HARD_BOUNCE, "5.1.10"),
    "qmail_permanent.eml": (K.HARD_BOUNCE, "5.1.1"),
    "exim_failed.eml": (K.HARD_BOUNCE, "5.1.1"),
    "yahoo_no_account.eml": (K.HARD_BOUNCE, "554"),
    "postfix_mailbox_full.eml": (K.SOFT_BOUNCE, "5.2.2"),
    "arf_yahoo_abuse.eml": (K.COMPLAINT, "abuse"),
    "postfix_delayed.eml": (None, ""),
    "out_of_office.eml": (None, ""),
}


def test_every_sample_is_read_right_through_a_real_imap_server(imap, sent_campaign):
    readers = make_subscribers(len(SAMPLES))
    deliveries = {}
    for (name, _), reader in zip(SAMPLES.items(), readers, strict=True):
        deliveries[name] = delivered(sent_campaign, reader)
        imap.deliver(bounce_for(name, deliveries[name]))
    assert imap.count("INBOX") == len(SAMPLES)

    result = bounce_mailbox_poll()

    assert result.read == len(SAMPLES) and result.ignored == 2 and result.unrecognised == 0
    assert imap.count("INBOX") == 0 and imap.count("Processed") == len(SAMPLES)
    for name, (kind, status) in SAMPLES.items():
        delivery = deliveries[name]
        events = list(DeliverabilityEvent.objects.filter(delivery=delivery))
        subscriber = delivery.subscriber
        subscriber.refresh_from_db()
        if kind is None:
            assert events == [], name
            assert subscriber.status == SubscriberStatus.SUBSCRIBED, name
            continue
        assert [(e.kind, e.status) for e in events] == [(kind, status)], name
        assert events[0].campaign_id == sent_campaign.pk and events[0].email == delivery.email
        expected = {K.HARD_BOUNCE: SubscriberStatus.CLEANED,
                    K.SOFT_BOUNCE: SubscriberStatus.SUBSCRIBED,  # one of three
                    K.COMPLAINT: SubscriberStatus.UNSUBSCRIBED}[kind]
        assert subscriber.status == expected, name
    complainer = deliveries["arf_yahoo_abuse.eml"].subscriber
    consent = complainer.consents.get()
    assert consent.kind == ConsentKind.WITHDRAWN and consent.source == ConsentSource.FEEDBACK
    assert "spam" in consent.note and f"campaign {sent_campaign.pk}" in consent.note
    assert MailboxMessage.objects.count() == len(SAMPLES)


def test_the_same_message_twice_or_a_poll_killed_before_the_move_records_once(
        imap, sent_campaign):
    (reader,) = make_subscribers(1)
    raw = bounce_for("postfix_mailbox_full.eml", delivered(sent_campaign, reader))
    # A poll that recorded the message and was killed before moving it: it is still there.
    assert bounce_mailbox_handle(raw) == ("bounce", 1)
    imap.deliver(raw, raw)  # ... and the relay delivered a second copy too
    result = bounce_mailbox_poll()
    assert result.read == 2 and result.already_seen == 2 and result.events == 0
    assert DeliverabilityEvent.objects.count() == 1
    assert imap.count("INBOX") == 0 and imap.count("Processed") == 2
    assert bounce_mailbox_poll().read == 0


def test_a_bounce_with_a_forged_return_path_and_no_message_id_of_ours_changes_nobody(
        imap, sent_campaign):
    (reader,) = make_subscribers(1)
    delivery = delivered(sent_campaign, reader)
    forged = bounce_for("postfix_user_unknown.eml", delivery,
                        return_path="bounces+2s.aaaaaaaaaaaaa@partwork.example",
                        message_id="<made-up@attacker.example>")
    imap.deliver(forged)
    bounce_mailbox_poll()
    event = DeliverabilityEvent.objects.get()
    assert event.subscriber is None and event.delivery is None
    assert "no delivery of ours" in event.outcome
    reader.refresh_from_db()
    assert reader.status == SubscriberStatus.SUBSCRIBED


def test_the_original_message_id_maps_a_report_without_our_return_path(imap, sent_campaign):
    """An ARF from a provider that sends its reports to a registered address, not the return
    path, still names the delivery by the original's Message-ID."""
    (reader,) = make_subscribers(1)
    delivery = delivered(sent_campaign, reader)
    imap.deliver(bounce_for("arf_yahoo_abuse.eml", delivery, return_path="fbl@partwork.example"))
    bounce_mailbox_poll()
    assert DeliverabilityEvent.objects.get().delivery == delivery
    reader.refresh_from_db()
    assert reader.status == SubscriberStatus.UNSUBSCRIBED


def test_delete_mode_and_starttls(imap, settings, sent_campaign):
    imap.use(settings, security="starttls")
    settings.BOUNCE_IMAP_DELETE = True
    (reader,) = make_subscribers(1)
    imap.deliver(bounce_for("gmail_address_not_found.eml", delivered(sent_campaign, reader)))
    assert bounce_mailbox_poll().events == 1
    assert imap.count("INBOX") == 0 and imap.count("Processed") == 0


def test_a_wrong_password_is_a_clear_error_and_leaves_the_mail(imap, settings, sent_campaign):
    (reader,) = make_subscribers(1)
    imap.deliver(bounce_for("gmail_address_not_found.eml", delivered(sent_campaign, reader)))
    settings.BOUNCE_IMAP_PASSWORD = "wrong"
    with pytest.raises(MailboxError, match="Bounce mailbox 127.0.0.1"):
        bounce_mailbox_poll()
    assert imap.count("INBOX") == 1 and not DeliverabilityEvent.objects.exists()


def test_the_poll_is_off_until_the_mailbox_is_configured(settings):
    settings.BOUNCE_IMAP_HOST = None
    assert bounce_mailbox_poll().configured is False


def test_the_poll_bounces_command_reports_what_it_did(imap, sent_campaign):
    (reader,) = make_subscribers(1)
    imap.deliver(bounce_for("exim_failed.eml", delivered(sent_campaign, reader)),
                 bounce_for("out_of_office.eml", delivered(sent_campaign, make_subscribers(
                     1, prefix="away")[0])))
    out = io.StringIO()
    call_command("poll_bounces", stdout=out)
    assert "2 message(s) read: 1 event(s) recorded, 1 ignored" in out.getvalue()


def test_the_poll_bounces_command_says_what_is_missing(settings):
    settings.BOUNCE_IMAP_HOST = None
    with pytest.raises(CommandError, match="BOUNCE_IMAP_HOST"):
        call_command("poll_bounces")


def test_polls_failing_for_a_quarter_of_an_hour_raise_the_health_alert(
        imap, settings, time_machine):
    settings.BOUNCE_IMAP_PASSWORD = "wrong"
    time_machine.move_to(timezone.now(), tick=False)
    with pytest.raises(MailboxError):
        bounce_mailbox_poll()
    assert check_bounce_mailbox().ok  # one failure is not an alert
    time_machine.shift(timedelta(minutes=16))
    with pytest.raises(MailboxError):
        bounce_mailbox_poll()
    check = check_bounce_mailbox()
    assert not check.ok and "AUTHENTICATIONFAILED" in check.detail.upper()
    settings.BOUNCE_IMAP_PASSWORD = imap.password
    bounce_mailbox_poll()
    assert check_bounce_mailbox().ok


def test_without_imap_move_messages_are_copied_then_expunged(imap, sent_campaign, monkeypatch):
    connect = mailbox._connect

    def without_move():
        client = connect()
        client.capabilities = tuple(c for c in client.capabilities if c != "MOVE")
        return client

    monkeypatch.setattr(mailbox, "_connect", without_move)
    readers = make_subscribers(3)
    imap.deliver(*[bounce_for("qmail_permanent.eml", delivered(sent_campaign, r))
                   for r in readers])
    assert bounce_mailbox_poll().events == 3
    assert imap.count("INBOX") == 0 and imap.count("Processed") == 3


def test_beat_runs_the_poll_task_on_the_mail_queue(settings):
    entry = celery_app.conf.beat_schedule["bounce-mailbox-poll"]
    assert entry["task"] == poll_bounce_mailbox.name
    assert entry["schedule"] == settings.BOUNCE_POLL_INTERVAL
    assert poll_bounce_mailbox.queue_name == "mail"
    settings.BOUNCE_IMAP_HOST = None
    assert poll_bounce_mailbox() == {"configured": False, "read": 0, "events": 0}
